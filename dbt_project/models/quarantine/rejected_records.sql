{{ config(enabled=has_entities(), materialized='incremental', unique_key=['entity', 'knack_id', 'reason'],
          on_schema_change='fail') }}

-- held-back records; first_seen_at kept across runs, last_seen_at refreshed
with students as (
    select 'students' as entity, knack_id, rejection_reason, rejection_detail
    from {{ ref('int_students_resolved') }} where rejection_reason is not null
    union all
    select 'staff', knack_id, rejection_reason, rejection_detail
    from {{ ref('int_staff_resolved') }} where rejection_reason is not null
)

select
    s.entity::text as entity,
    s.knack_id::text as knack_id,
    s.rejection_reason::text as reason,
    s.rejection_detail::text as detail,
    {% if is_incremental() %}coalesce(t.first_seen_at, now()){% else %}now(){% endif %}::timestamptz as first_seen_at,
    now()::timestamptz as last_seen_at
from students as s
{% if is_incremental() %}
left join {{ this }} as t on t.entity = s.entity and t.knack_id = s.knack_id and t.reason = s.rejection_reason
{% endif %}
