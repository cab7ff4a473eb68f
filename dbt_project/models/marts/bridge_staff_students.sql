{{ config(enabled=has_entities(), materialized='table', contract={'enforced': true}) }}

with students as (
    select * from {{ ref('int_students_typed') }}
),

student_years as (
    select * from {{ ref('int_student_years') }}
),

staff as (
    select * from {{ ref('int_staff_resolved') }} where rejection_reason is null
),

links as (
    select distinct
        sy.email as student_email,
        sy.academic_year,
        st.email as staff_email
    from student_years as sy
    join students as s on s.knack_id = sy.knack_id
    cross join lateral unnest(s.tutor_knack_ids) as tutor(knack_id)
    join staff as st on st.knack_id = tutor.knack_id
)

select
    {{ natural_key(['staff_email']) }}::text as staff_key,
    {{ natural_key(['student_email', 'academic_year']) }}::text as student_key,
    academic_year::text as academic_year
from links
