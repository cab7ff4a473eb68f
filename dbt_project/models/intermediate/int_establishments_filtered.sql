{{ config(enabled=has_entities(), materialized='table') }}

-- business filter: active schools (status 'active', case-insensitive; empty status is not active)
with establishments as (
    select * from {{ ref('int_establishments_deduplicated') }}
)

select
    *,
    case
        when is_deleted then 'deleted_in_knack'
        when status is null then 'empty_status'
        when status <> 'active' then 'status_' || status
    end as filter_reason,
    is_active as is_kept
from establishments
