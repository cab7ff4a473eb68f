{{ config(enabled=has_entities(), materialized='table') }}

-- every live result with its establishment, academic year and student-year, or the reason it can't be modelled
with typed as (
    select *, establishment_knack_ids[1] as establishment_knack_id
    from {{ ref('int_vespa_results_typed') }}
    where not is_deleted
),

establishments as (
    select * from {{ ref('int_establishments_filtered') }}
),

student_years as (
    select distinct email, academic_year from {{ ref('int_student_years') }}
),

with_year as (
    select
        t.knack_id, t.email, t.establishment_knack_id, t.cycle, t.vision, t.effort, t.systems, t.practice,
        t.attitude, t.overall, t.completed_at, t.completed_date, t.modified_at, t.first_seen_at, t.last_seen_at,
        e.knack_id as connected_knack_id,
        e.is_kept as connected_is_kept,
        {{ academic_year('t.completed_date', 'e.academic_year_start') }} as academic_year
    from typed as t
    left join establishments as e on e.knack_id = t.establishment_knack_id
)

select
    w.*,
    s.email is not null as has_student_year,
    case
        when w.email is null then 'no_email'
        when w.establishment_knack_id is null then 'no_establishment'
        when w.connected_knack_id is null then 'unknown_establishment'
        when not w.connected_is_kept then 'cancelled_establishment'
        when w.completed_date is null then 'no_completion_date'
        when w.cycle is null then 'no_cycle'
        when s.email is null then 'unknown_student'
    end as rejection_reason,
    case
        when w.email is null then 'result has no usable student email'
        when w.establishment_knack_id is null then 'result has no establishment connection'
        when w.connected_knack_id is null
            then 'connected establishment ' || w.establishment_knack_id || ' does not exist'
        when not w.connected_is_kept
            then 'connected establishment ' || w.establishment_knack_id || ' is not active'
        when w.completed_date is null then 'result has no completion date'
        when w.cycle is null then 'result has no cycle'
        when s.email is null
            then 'no student ' || w.email || ' in academic year ' || w.academic_year
    end as rejection_detail
from with_year as w
left join student_years as s on s.email = w.email and s.academic_year = w.academic_year
