{{ config(enabled=has_entities(), materialized='table') }}

with source as (
    select * from {{ entity_model('establishments') }}
),

ranked as (
    select
        knack_id,
        trim({{ entity_column('establishments', 'name') }}::text) as name,
        nullif(lower(trim({{ entity_column('establishments', 'status') }}::text)), '') as status,
        nullif(lower(trim({{ entity_column('establishments', 'portal_type') }}::text)), '') as portal_type,
        nullif(trim({{ entity_column('establishments', 'country') }}::text), '') as country,
        nullif(lower(trim(both '@ ' from {{ entity_column('establishments', 'email_domain') }}::text)), '') as email_domain,
        modified_at,
        is_deleted,
        -- dedup rule: latest modified wins, ties broken by knack_id
        row_number() over (partition by knack_id order by modified_at desc nulls last, knack_id) as rn
    from source
)

select
    knack_id,
    name,
    status,
    portal_type,
    country,
    email_domain,
    {{ academic_year_start_for_country('country') }} as academic_year_start,
    modified_at,
    is_deleted,
    {{ is_active_status('status') }} and not is_deleted as is_active
from ranked
where rn = 1
