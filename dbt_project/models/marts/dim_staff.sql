{{ config(enabled=has_entities(), materialized='table', contract={'enforced': true}) }}

with staff as (
    select * from {{ ref('int_staff_resolved') }} where rejection_reason is null
),

ranked as (
    select
        *,
        -- dedup rule: latest modified wins, ties broken by the greatest knack_id
        row_number() over (partition by email order by modified_at desc nulls last, knack_id desc) as rn,
        array_agg(knack_id) over (partition by email) as knack_ids
    from staff
)

select
    staff_key::text as staff_key,
    email::text as email,
    name::text as name,
    establishment_key::text as establishment_key,
    role::text as role,
    knack_ids::text[] as knack_ids
from ranked
where rn = 1
