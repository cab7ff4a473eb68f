{% snapshot snap_students %}
{{ config(enabled=has_entities(), target_schema='snapshots', unique_key='knack_id', strategy='check',
          check_cols='all', hard_deletes='new_record') }}
-- SCD2 history of student records (every Knack version, deleted ones included and marked)
select
    knack_id,
    {{ normalise_email(entity_column('students', 'email') ~ '::text') }} as email,
    {{ entity_column('students', 'name', 'first') }}::text as first_name,
    {{ entity_column('students', 'name', 'last') }}::text as last_name,
    {{ entity_column('students', 'year_group') }}::text as year_group,
    {{ entity_column('students', 'establishment', 'ids') }} as establishment_knack_ids,
    is_deleted,
    deleted_at
from {{ entity_model('students') }}
{% endsnapshot %}
