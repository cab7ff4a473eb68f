{#- logged, unlike the other candidates: the frozen years' student-years it keeps are history that a crash
    must not empty (an unlogged table is truncated in crash recovery) -#}
{{ config(enabled=has_entities(), materialized='table', contract={'enforced': true}, unlogged=false) }}

{#- a frozen year is history: a student-year of it that today's data no longer gives (its records deleted in
    Knack, moved to another email or year, or held in quarantine since the year closed) is kept from the table
    this build replaces, marked not current, while a frozen result points at it (the fact's relationships
    test reads every partition). Reopening the year lets it go -#}
{%- set frozen = frozen_fact_years() -%}
{%- set previous = load_relation(this) if frozen else none -%}
{%- set held = held_student_years(previous, frozen) if previous is not none else [] %}

-- the ranking keys in byte order (collate "C"), as the columns themselves: the same order for Knack's hex ids
-- and a sort with abbreviated keys, which a UTF-8 collation disables (~10% off the select at scale 10); and as
-- columns, the sort carries no second copy of each key (~12% more)
with student_years as (
    select
        student_key,
        academic_year collate "C" as academic_year,
        email collate "C" as email,
        first_name,
        last_name,
        establishment_key,
        year_group,
        establishment_resolution,
        modified_at,
        knack_id::text collate "C" as knack_id
    from {{ ref('int_students_resolved') }}
    where academic_year is not null
),

ranked as (
    select
        *,
        -- dedup rule: latest modified wins, ties broken by the greatest knack_id
        row_number() over by_version as rn,
        -- every id of the student-year, from the same window (one sort), put in order below
        array_agg(knack_id) over (by_version rows between unbounded preceding and unbounded following) as all_ids
    from student_years
    window by_version as (
        partition by email, academic_year
        order by modified_at desc nulls last, knack_id desc
    )
)

select
    student_key::text as student_key,
    academic_year::text as academic_year,
    email::text as email,
    first_name::text as first_name,
    last_name::text as last_name,
    establishment_key::text as establishment_key,
    year_group::text as year_group,
    -- most student-years have one id: sorting a one-element array per row costs seconds at 0.75 M rows
    (case when cardinality(all_ids) = 1 then all_ids
        else array(select id from unnest(all_ids) as id order by id) end)::text[] as knack_ids,
    establishment_resolution::text as establishment_resolution,
    true as is_current
from ranked
where rn = 1
{%- if held %}

union all

select
    student_key, academic_year, email, first_name, last_name, establishment_key, year_group, knack_ids,
    establishment_resolution,
    false as is_current
from {{ previous }}
where student_key in {{ literal_list(held) }}
{%- endif %}
