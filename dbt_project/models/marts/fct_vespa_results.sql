{{ config(enabled=has_entities(), materialized='partitioned_by_year', partition_key='result_key') }}

with results as (
    select * from {{ entity_model('vespa_results') }}
),

establishments as (
    select * from {{ ref('dim_establishments') }}
),

students as (
    select * from {{ ref('dim_students') }}
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
        r.modified_at
    from results as r
    where not r.is_deleted
),

with_year as (
    select
        t.*,
        e.establishment_key,
        {{ academic_year('t.completed_date', 'e.academic_year_start') }} as academic_year
    from typed as t
    join establishments as e on e.knack_id = t.establishment_knack_id
),

ranked as (
    select
        w.*,
        s.student_key,
        -- dedup rule: latest modified wins, ties broken by the greatest knack_id
        row_number() over (partition by w.email, w.academic_year, w.cycle
                           order by w.modified_at desc nulls last, w.knack_id desc) as rn
    from with_year as w
    join students as s on s.email = w.email and s.academic_year = w.academic_year
)

select
    {{ natural_key(['email', 'academic_year', 'cycle']) }}::text as result_key,
    student_key::text as student_key,
    establishment_key::text as establishment_key,
    academic_year::text as academic_year,
    cycle::int as cycle,
    vision, effort, systems, practice, attitude, overall,
    completed_at::timestamptz as completed_at,
    knack_id::text as knack_id
from ranked
where rn = 1 and academic_year is not null
