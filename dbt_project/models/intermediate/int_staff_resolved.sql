{{ config(enabled=has_entities(), materialized='table') }}

with source as (
    select * from {{ entity_model('staff') }}
),

establishments as (
    select * from {{ ref('int_establishments_filtered') }}
),

staff as (
    select
        s.knack_id,
        {{ normalise_email(entity_column('staff', 'email') ~ '::text') }} as email,
        s.{{ entity_column('staff', 'name', 'full') }}::text as name,
        s.{{ entity_column('staff', 'role') }}::text as role,
        s.{{ entity_column('staff', 'establishment', 'ids') }}[1] as establishment_knack_id,
        s.modified_at,
        s.first_seen_at,
        s.last_seen_at
    from source as s
    where not s.is_deleted
)

select
    st.knack_id,
    st.email,
    st.name,
    st.role,
    st.modified_at,
    st.first_seen_at,
    st.last_seen_at,
    case when e.is_kept then st.establishment_knack_id end as establishment_knack_id,
    -- the keys of an accepted record, made once here for dim_staff and the staff-student links
    case when st.email is not null and e.is_kept then {{ natural_key(['st.email']) }} end as staff_key,
    case when st.email is not null and e.is_kept then e.establishment_key end as establishment_key,
    case
        when st.email is null then 'no_email'
        when st.establishment_knack_id is null then 'no_establishment'
        when e.knack_id is null then 'unknown_establishment'
        when not e.is_kept then 'cancelled_establishment'
    end as rejection_reason,
    case
        when st.email is null then 'staff record has no usable email'
        when st.establishment_knack_id is null then 'staff record has no establishment connection'
        when e.knack_id is null then 'connected establishment ' || st.establishment_knack_id || ' does not exist'
        when not e.is_kept then 'connected establishment ' || st.establishment_knack_id || ' is not active'
    end as rejection_detail
from staff as st
left join establishments as e on e.knack_id = st.establishment_knack_id
