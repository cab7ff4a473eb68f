{{ config(enabled=has_entities(), materialized='table') }}

-- every live source record the marts hold back, with why; seen dates are ingest's, never the build's clock
-- academic year: a student's from its own date at its establishment's start day (the mapping's default start
-- without one), a result's as resolved; none for staff, nor for a date outside the plausible window
with students as (
    select
        s.*,
        case when not {{ is_implausible_date('s.activity_date') }} then
            {{ academic_year('s.activity_date', "coalesce(l.academic_year_start, '" ~ academic_year_default_start() ~ "')") }}
        end as rejected_academic_year
    from {{ ref('int_students_resolved') }} as s
    left join {{ ref('int_establishment_lookups_learned') }} as l on l.lookup = s.establishment_lookup
    where s.rejection_reason is not null
),

staff as (
    select * from {{ ref('int_staff_resolved') }}
),

-- a frozen year's results keep the decision they had when it closed, not their deletion flag: the typed
-- table says which are live today
results as (
    select r.knack_id, r.rejection_reason, r.rejection_detail, t.first_seen_at, t.last_seen_at, t.is_deleted,
        r.academic_year
    from {{ ref('int_vespa_results_resolved') }} as r
    join {{ ref('int_vespa_results_typed') }} as t on t.knack_id = r.knack_id
    where r.rejection_reason is not null
),

rejected as (
    select 'students' as entity, knack_id, rejection_reason, rejection_detail, first_seen_at, last_seen_at,
        rejected_academic_year as academic_year
    from students
    union all
    select 'staff', knack_id, rejection_reason, rejection_detail, first_seen_at, last_seen_at, null
    from staff where rejection_reason is not null
    union all
    select 'vespa_results', knack_id, rejection_reason, rejection_detail, first_seen_at, last_seen_at, academic_year
    from results where rejection_reason is not null and not is_deleted
)

select
    entity::text as entity,
    knack_id::text as knack_id,
    rejection_reason::text as reason,
    rejection_detail::text as detail,
    first_seen_at::timestamptz as first_seen_at,
    last_seen_at::timestamptz as last_seen_at,
    academic_year::text as academic_year
from rejected
