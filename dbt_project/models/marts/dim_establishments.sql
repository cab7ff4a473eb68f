{{ config(enabled=has_entities(), materialized='table', contract={'enforced': true}) }}

with establishments as (
    select * from {{ ref('int_establishments_filtered') }}
)

select
    {{ natural_key(['knack_id']) }}::text as establishment_key,
    knack_id::text as knack_id,
    name::text as name,
    status::text as status,
    portal_type::text as portal_type,
    country::text as country,
    email_domain::text as email_domain,
    academic_year_start::text as academic_year_start,
    is_active::boolean as is_active,
    is_coaching_portal::boolean as is_coaching_portal
from establishments
