{{ config(enabled=has_entities(), materialized='table') }}

-- kept/dropped counts of every business filter, so a silent drop is visible
with establishments as (
    select * from {{ ref('int_establishments_filtered') }}
)

select
    'active_establishments' as filter_name,
    count(*) as rows_in,
    count(*) filter (where is_kept) as rows_kept,
    count(*) filter (where not is_kept) as rows_dropped,
    count(*) filter (where status is null) as rows_empty
from establishments

union all

select
    'coaching_portal_establishments',
    count(*),
    count(*) filter (where is_coaching_portal),
    count(*) filter (where not is_coaching_portal),
    count(*) filter (where portal_type is null)
from establishments
