{{ config(enabled=has_entities(), materialized='table') }}

-- every live result with its establishment, academic year and student-year, or the reason it can't be modelled
with results as (
    select * from {{ entity_model('vespa_results') }}
),

establishments as (
    select * from {{ ref('int_establishments_filtered') }}
),

student_years as (
    select distinct email, academic_year from {{ ref('int_student_years') }}
),

typed as (
    select
        r.knack_id,
        {{ normalise_email(entity_column('vespa_results', 'student_email') ~ '::text') }} as email,
        r.{{ entity_column('vespa_results', 'establishment', 'ids') }}[1] as establishment_knack_id,
        r.{{ entity_column('vespa_results', 'cycle') }}::int as cycle,
        r.{{ entity_column('vespa_results', 'vision') }}::numeric as vision,
        r.{{ entity_column('vespa_results', 'effort') }}::numeric as effort,
        r.{{ entity_column('vespa_results', 'systems') }}::numeric as systems,
        r.{{ entity_column('vespa_results', 'practice') }}::numeric as practice,
        r.{{ entity_column('vespa_results', 'attitude') }}::numeric as attitude,
        r.{{ entity_column('vespa_results', 'overall') }}::numeric as overall,
        r.{{ entity_column('vespa_results', 'completed_at') }} as completed_at,
        r.{{ entity_column('vespa_results', 'completed_at', 'local_date') }} as completed_date,
        r.modified_at,
        r.first_seen_at,
        r.last_seen_at
    from results as r
    where not r.is_deleted
),

with_year as (
    select
        t.*,
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
