{{ config(
    enabled=has_entities(),
    materialized='incremental',
    unique_key='knack_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    unlogged=false,
    indexes=[{'columns': ['knack_id'], 'unique': true}],
    post_hook='{{ load_id_index() }}',
    sql_header='',
) }}

-- the mapped student attributes of every record, live or deleted, read from raw once per change: staging
-- parses JSON on every read, so everything above reads this table and a daily build parses ~1% of records
with source as (
    select * from {{ entity_model('students') }}
    {{ new_loads_only() }}
)

select
    knack_id,
    {{ normalise_email(entity_column('students', 'email') ~ '::text') }} as email,
    {{ entity_column('students', 'name', 'first') }}::text as first_name,
    {{ entity_column('students', 'name', 'last') }}::text as last_name,
    {{ entity_column('students', 'year_group') }}::text as year_group,
    {{ entity_column('students', 'establishment', 'ids') }} as establishment_knack_ids,
    {{ entity_column('students', 'tutors', 'ids') }} as tutor_knack_ids,
    coalesce({{ entity_column('students', 'upload_date', 'local_date') }}, created_at::date) as activity_date,
    modified_at,
    first_seen_at,
    last_seen_at,
    is_deleted,
    deleted_at,
    load_id
from source
