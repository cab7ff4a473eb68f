{{ config(enabled=has_entities(), materialized='table') }}

-- business filters as flags, never as a where: active schools (a status among the mapping's active_statuses,
-- default 'active', any case; empty is not active) and coaching-portal schools (a portal type matching one of
-- the mapping's coaching_portal_types, default '%coaching portal%', any case or spacing)
with establishments as (
    select * from {{ ref('int_establishments_deduplicated') }}
)

select
    *,
    {{ natural_key(['knack_id']) }} as establishment_key,
    case
        when is_deleted then 'deleted_in_knack'
        when status is null then 'empty_status'
        when not is_active then 'status_' || status
    end as filter_reason,
    is_active as is_kept,
    {{ is_coaching_portal_type('portal_type') }} as is_coaching_portal
from establishments
