{{ config(enabled=has_entities(), materialized='table') }}

-- business filters as flags, never as a where: active schools (status 'active', case-insensitive; empty is
-- not active) and coaching-portal schools (portal type contains 'coaching portal', any case or spacing)
with establishments as (
    select * from {{ ref('int_establishments_deduplicated') }}
)

select
    *,
    {{ natural_key(['knack_id']) }} as establishment_key,
    case
        when is_deleted then 'deleted_in_knack'
        when status is null then 'empty_status'
        when status <> 'active' then 'status_' || status
    end as filter_reason,
    is_active as is_kept,
    coalesce(regexp_replace(portal_type, '\s+', ' ', 'g') like '%coaching portal%', false) as is_coaching_portal
from establishments
