{{ config(enabled=has_entities(), materialized='table') }}

-- every live source record the marts hold back, with why; seen dates are ingest's, never the build's clock
with students as (
    select * from {{ ref('int_students_resolved') }}
),

staff as (
    select * from {{ ref('int_staff_resolved') }}
),

-- a frozen year's results keep the decision they had when it closed, not their deletion flag: the typed
-- table says which are live today
results as (
    select r.knack_id, r.rejection_reason, r.rejection_detail, t.first_seen_at, t.last_seen_at, t.is_deleted
    from {{ ref('int_vespa_results_resolved') }} as r
    join {{ ref('int_vespa_results_typed') }} as t on t.knack_id = r.knack_id
    where r.rejection_reason is not null
),

rejected as (
    select 'students' as entity, knack_id, rejection_reason, rejection_detail, first_seen_at, last_seen_at
    from students where rejection_reason is not null
    union all
    select 'staff', knack_id, rejection_reason, rejection_detail, first_seen_at, last_seen_at
    from staff where rejection_reason is not null
    union all
    select 'vespa_results', knack_id, rejection_reason, rejection_detail, first_seen_at, last_seen_at
    from results where rejection_reason is not null and not is_deleted
)

select
    entity::text as entity,
    knack_id::text as knack_id,
    rejection_reason::text as reason,
    rejection_detail::text as detail,
    first_seen_at::timestamptz as first_seen_at,
    last_seen_at::timestamptz as last_seen_at
from rejected
