{% snapshot snap_establishments %}
{{ config(enabled=has_entities(), target_schema='snapshots', unique_key='knack_id', strategy='check',
          check_cols='all', hard_deletes='new_record') }}
-- SCD2 history of establishments; a record deleted in Knack gets a new version with is_deleted = true
-- (and a record that vanishes from staging gets dbt_is_deleted = 'True')
select knack_id, name, status, portal_type, country, email_domain, academic_year_start, is_deleted
from {{ ref('int_establishments_deduplicated') }}
{% endsnapshot %}
