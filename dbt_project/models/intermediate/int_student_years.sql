{{ config(enabled=has_entities(), materialized='table') }}

-- every accepted student version with the academic year of its own date (establishment's start day)
with students as (
    select * from {{ ref('int_students_resolved') }}
),

establishments as (
    select * from {{ ref('int_establishments_filtered') }}
)

select
    s.knack_id,
    s.email,
    s.first_name,
    s.last_name,
    s.year_group,
    s.establishment_knack_id,
    s.establishment_resolution,
    s.activity_date,
    s.modified_at,
    {{ academic_year('s.activity_date', 'e.academic_year_start') }} as academic_year
from students as s
join establishments as e on e.knack_id = s.establishment_knack_id
where s.rejection_reason is null and s.activity_date is not null
