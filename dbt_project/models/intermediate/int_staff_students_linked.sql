{{ config(enabled=has_entities(), materialized='table') }}

-- every staff member linked to every student-year whose records name them as a tutor. A model of its own,
-- not the bridge's select: the bridge's foreign key makes it wait for dim_students and its tests, so its
-- select ran after them on the daily build's critical path; this runs beside dim_students
with students as (
    select * from {{ ref('int_students_resolved') }}
    where academic_year is not null
),

staff as (
    select * from {{ ref('int_staff_resolved') }}
    where rejection_reason is null
)

select distinct
    st.staff_key,
    s.student_key,
    s.academic_year
from students as s
cross join lateral unnest(s.tutor_knack_ids) as tutor(knack_id)
join staff as st on st.knack_id = tutor.knack_id
