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

-- the mapped result attributes of every record, live or deleted, read from raw once per change (see
-- int_students_typed)
with source as (
    select * from {{ entity_model('vespa_results') }}
    {{ new_loads_only() }}
)

select
    knack_id,
    {{ normalise_email(entity_column('vespa_results', 'student_email') ~ '::text') }} as email,
    {{ entity_column('vespa_results', 'establishment', 'ids') }} as establishment_knack_ids,
    -- a cycle that is no whole number of a few digits (1e300, 2.5, a JSON object) is no cycle: quarantined as
    -- no_cycle, never a failed cast; read as text, so a field whose type changed still builds (the guards stop it)
    case when {{ entity_column('vespa_results', 'cycle') }}::text ~ '^[-+]?[0-9]{1,9}(\.0*)?$'
        then {{ entity_column('vespa_results', 'cycle') }}::text::numeric::int
    end as cycle,
    {{ entity_column('vespa_results', 'vision') }}::numeric as vision,
    {{ entity_column('vespa_results', 'effort') }}::numeric as effort,
    {{ entity_column('vespa_results', 'systems') }}::numeric as systems,
    {{ entity_column('vespa_results', 'practice') }}::numeric as practice,
    {{ entity_column('vespa_results', 'attitude') }}::numeric as attitude,
    {{ entity_column('vespa_results', 'overall') }}::numeric as overall,
    {{ entity_column('vespa_results', 'completed_at') }} as completed_at,
    {{ entity_column('vespa_results', 'completed_at', 'local_date') }} as completed_date,
    modified_at,
    first_seen_at,
    last_seen_at,
    is_deleted,
    load_id
from source
