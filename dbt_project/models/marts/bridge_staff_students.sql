{{ config(enabled=has_entities(), materialized='table', contract={'enforced': true}) }}

with links as (
    select * from {{ ref('int_staff_students_linked') }}
)

select
    staff_key::text as staff_key,
    student_key::text as student_key,
    academic_year::text as academic_year
from links
