{% snapshot snap_students %}
{{ config(enabled=has_entities(), target_schema='snapshots', unique_key='knack_id', strategy='check',
          check_cols=['email', 'first_name', 'last_name', 'year_group', 'establishment_knack_ids',
                      'is_deleted', 'deleted_at'],
          indexes=[{'columns': ['dbt_scd_id']}, {'columns': ['knack_id']}],
          post_hook=['{{ load_id_index() }}', 'analyze {{ this }}']) }}
-- SCD2 history of student records (every Knack version; a record deleted in Knack gets a version with
-- is_deleted = true, since raw keeps it). Only records of raw loads newer than the snapshot's newest are
-- compared: the others cannot have changed, and hard deletes need no full scan because raw never drops a row.
-- Analyzed after each run: until autovacuum got to the table, dbt's update of the closed versions was planned
-- without statistics (17 s instead of 5 s on the first days at scale 10)
select knack_id, email, first_name, last_name, year_group, establishment_knack_ids, is_deleted, deleted_at, load_id
from {{ ref('int_students_typed') }}
{{ new_loads_only() }}
{% endsnapshot %}
