{{ config(enabled=has_entities(), materialized='table', indexes=[{'columns': ['lookup'], 'unique': true}]) }}

-- what a student's establishment is looked up by, with what of it the decision in int_students_resolved uses:
-- its connection's Knack id, else '@' and its email domain (a Knack id never starts with '@'). A few thousand
-- rows, learned once a build, so that deciding a day's records and finding those to decide again both read it
with establishments as (
    select * from {{ ref('int_establishments_filtered') }}
),

-- grouped as read: a few thousand domain-establishment pairs hash in memory (sorting 0.75 M students' pairs
-- spilled ~1 s)
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

lookups as (
    select knack_id as lookup, knack_id from establishments
    union all
    select '@' || domain, knack_id from unique_domains
)

select
    l.lookup,
    e.knack_id,
    e.is_kept,
    e.academic_year_start,
    e.establishment_key,
    concat_ws('|', e.knack_id, e.is_kept, e.academic_year_start) as inputs
from lookups as l
join establishments as e on e.knack_id = l.knack_id
