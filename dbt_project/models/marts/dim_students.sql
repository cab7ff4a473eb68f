{{ config(enabled=has_entities(), materialized='table', contract={'enforced': true}) }}

with student_years as (
    select * from {{ ref('int_student_years') }}
),

with_year as (
    select
        *,
        -- dedup rule: latest modified wins, ties broken by the greatest knack_id
        row_number() over (
            partition by email, academic_year
            order by modified_at desc nulls last, knack_id desc
        ) as rn
    from student_years
),

ids as (
    select email, academic_year, array_agg(knack_id order by knack_id) as knack_ids
    from with_year
    group by email, academic_year
)

select
    {{ natural_key(['w.email', 'w.academic_year']) }}::text as student_key,
    w.academic_year::text as academic_year,
    w.email::text as email,
    w.first_name::text as first_name,
    w.last_name::text as last_name,
    {{ natural_key(['w.establishment_knack_id']) }}::text as establishment_key,
    w.year_group::text as year_group,
    i.knack_ids::text[] as knack_ids,
    w.establishment_resolution::text as establishment_resolution
from with_year as w
join ids as i on i.email = w.email and i.academic_year = w.academic_year
where w.rn = 1
