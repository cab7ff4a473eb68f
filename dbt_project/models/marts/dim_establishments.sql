{#- logged (a few thousand rows): the logged dim_students' foreign key may point only at a logged table -#}
{{ config(enabled=has_entities(), materialized='table', contract={'enforced': true}, unlogged=false) }}

with establishments as (
    select * from {{ ref('int_establishments_filtered') }}
),

-- every establishment a student, staff or result record points at, live or deleted: history may need it
referenced as (
    select unnest(establishment_knack_ids) as knack_id from {{ ref('int_students_typed') }}
    union
    select unnest({{ entity_column('staff', 'establishment', 'ids') }}) from {{ entity_model('staff') }}
    union
    select unnest(establishment_knack_ids) from {{ ref('int_vespa_results_typed') }}
)

select
    establishment_key::text as establishment_key,
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
-- a record deleted in Knack stays (marked inactive) while anything points at it, then leaves
where not is_deleted or knack_id in (select knack_id from referenced)
