{{ config(enabled=has_entities(), materialized='partitioned_by_year', partition_key='result_key') }}

with results as (
    select * from {{ ref('int_vespa_results_resolved') }}
),

ranked as (
    select
        r.*,
        {{ natural_key(['r.email', 'r.academic_year']) }} as student_key,
        {{ natural_key(['r.connected_knack_id']) }} as establishment_key,
        -- dedup rule: latest modified wins, ties broken by the greatest knack_id
        row_number() over (partition by r.email, r.academic_year, r.cycle
                           order by r.modified_at desc nulls last, r.knack_id desc) as rn
    from results as r
    where r.rejection_reason is null and not r.is_deleted
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
