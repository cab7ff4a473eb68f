{{ config(enabled=has_entities(), materialized='table', indexes=[{'columns': ['knack_id'], 'unique': true}]) }}

-- every accepted student version with the academic year of its own date (establishment's start day), and
-- its keys, made once here for dim_students and the bridge (an md5 per row costs ~1.5 s at 0.75 M rows)
with students as (
    select * from {{ ref('int_students_resolved') }}
),

establishments as (
    select * from {{ ref('int_establishments_filtered') }}
),

with_years as (
    select
        s.knack_id,
        s.email,
        s.first_name,
        s.last_name,
        s.year_group,
        s.establishment_knack_id,
        e.establishment_key,
        s.establishment_resolution,
        s.activity_date,
        s.tutor_knack_ids,
        s.modified_at,
        {{ academic_year('s.activity_date', 'e.academic_year_start') }} as academic_year
    from students as s
    join establishments as e on e.knack_id = s.establishment_knack_id
    where s.rejection_reason is null and s.activity_date is not null
)

select
    *,
    {{ natural_key(['email', 'academic_year']) }} as student_key
from with_years
