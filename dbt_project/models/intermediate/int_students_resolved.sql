{{ config(enabled=has_entities(), materialized='table', indexes=[{'columns': ['knack_id'], 'unique': true}]) }}

with students as (
    select *, establishment_knack_ids[1] as establishment_knack_id
    from {{ ref('int_students_typed') }}
    where not is_deleted
),

establishments as (
    select * from {{ ref('int_establishments_filtered') }}
),

-- read apart from `students`, so that neither is materialized (a CTE read twice is: 0.78 M wide rows), and
-- grouped at once: a few thousand domain-establishment pairs hash in memory, where the union below sorted
-- all 0.75 M students' pairs on disk (~1 s at scale 10)
student_domains as (
    select split_part(email, '@', 2) as domain, establishment_knack_ids[1] as establishment_knack_id
    from {{ ref('int_students_typed') }}
    where not is_deleted and email like '%@%'
    group by 1, 2
),

-- domains owned by exactly one establishment (from establishment domains and resolved students)
domain_candidates as (
    select email_domain as domain, knack_id from establishments where email_domain is not null and is_kept
    union
    select sd.domain, sd.establishment_knack_id
    from student_domains as sd
    join establishments as e on e.knack_id = sd.establishment_knack_id and e.is_kept
),

unique_domains as (
    select domain, min(knack_id) as knack_id
    from domain_candidates
    group by domain
    having count(distinct knack_id) = 1
),

resolved as (
    select
        st.*,
        e.knack_id as connected_knack_id,
        e.is_kept as connected_is_kept,
        d.knack_id as domain_knack_id
    from students as st
    left join establishments as e on e.knack_id = st.establishment_knack_id
    left join unique_domains as d on d.domain = split_part(st.email, '@', 2)
),

decided as (
    select
        r.knack_id,
        r.email,
        r.first_name,
        r.last_name,
        r.year_group,
        r.tutor_knack_ids,
        r.activity_date,
        r.modified_at,
        r.first_seen_at,
        r.last_seen_at,
        case
            when r.connected_knack_id is not null and r.connected_is_kept then r.connected_knack_id
            when r.establishment_knack_id is null and r.domain_knack_id is not null then r.domain_knack_id
        end as establishment_knack_id,
        case
            when r.connected_knack_id is not null and r.connected_is_kept then 'connection'
            when r.establishment_knack_id is null and r.domain_knack_id is not null then 'email_domain'
        end as establishment_resolution,
        case
            when r.email is null then 'no_email'
            when r.connected_knack_id is not null and r.connected_is_kept then null
            when r.connected_knack_id is not null then 'cancelled_establishment'
            when r.establishment_knack_id is not null then 'unknown_establishment'
            when r.domain_knack_id is not null then null
            else 'no_establishment'
        end as rejection_reason,
        case
            when r.email is null then 'student record has no usable email'
            when r.connected_knack_id is not null and not r.connected_is_kept
                then 'connected establishment ' || r.connected_knack_id || ' is not active'
            when r.establishment_knack_id is not null and r.connected_knack_id is null
                then 'connected establishment ' || r.establishment_knack_id || ' does not exist'
            when r.establishment_knack_id is null and r.domain_knack_id is null
                then 'no connection and email domain ' || coalesce(split_part(r.email, '@', 2), '') || ' matches no single establishment'
        end as rejection_detail
    from resolved as r
),

-- the academic year of each accepted version's own date (its establishment's start day) and the keys, made
-- once here for dim_students, the bridge and the results (an md5 per row costs ~1.5 s at 0.75 M rows)
with_years as (
    select
        d.*,
        e.establishment_key,
        case when d.rejection_reason is null then
            {{ academic_year('d.activity_date', 'e.academic_year_start') }}
        end as academic_year
    from decided as d
    left join establishments as e on e.knack_id = d.establishment_knack_id
)

select
    *,
    case when academic_year is not null then {{ natural_key(['email', 'academic_year']) }} end as student_key
from with_years
