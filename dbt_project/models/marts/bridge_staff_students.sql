{{ config(enabled=has_entities(), materialized='table', contract={'enforced': true}) }}

with student_years as (
    select * from {{ ref('int_student_years') }}
),

staff as materialized (
    select knack_id, {{ natural_key(['email']) }} as staff_key
    from {{ ref('int_staff_resolved') }}
    where rejection_reason is null
),

-- keys come hashed from the student-year and the staff record (materialized: else the planner hashes the
-- staff email once per link)
links as (
    select distinct
        st.staff_key,
        sy.student_key,
        sy.academic_year
    from student_years as sy
    cross join lateral unnest(sy.tutor_knack_ids) as tutor(knack_id)
    join staff as st on st.knack_id = tutor.knack_id
)

select
    staff_key::text as staff_key,
    student_key::text as student_key,
    academic_year::text as academic_year
from links
