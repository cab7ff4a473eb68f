{{ config(enabled=has_entities(), contract={'enforced': true}) }}

-- counts only: the records' ids, names, emails and details stay in quarantine.rejected_records
select
    entity::text as entity,
    reason::text as reason,
    academic_year::text as academic_year,
    count(*)::bigint as records
from {{ ref('rejected_records') }}
group by 1, 2, 3
