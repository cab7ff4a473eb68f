{{ config(enabled=has_entities(), materialized='table') }}

-- kept/dropped counts of every business filter, so a silent drop is visible
with establishments as (
    select * from {{ ref('int_establishments_filtered') }}
)

select
    'active_establishments' as filter_name,
    count(*) as rows_in,
    count(*) filter (where is_kept) as rows_kept,
    count(*) filter (where not is_kept) as rows_dropped
from establishments
