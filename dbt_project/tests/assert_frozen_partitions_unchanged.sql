{{ config(enabled=has_entities(), tags=['frozen']) }}
-- every frozen partition of fct_vespa_results still has the content hash recorded when it closed
{%- set rel = ref('fct_vespa_results') %}
{%- if execute %}
{%- set years = run_query("select academic_year from audit.frozen_partitions where table_name = 'fct_vespa_results' order by 1").columns[0].values() if adapter.get_relation(database=target.database, schema='audit', identifier='frozen_partitions') else [] %}
{%- else %}{%- set years = [] %}{%- endif %}
with current_hashes as (
    select null::text as academic_year, null::text as content_hash where false
    {%- for year in years %}
    union all
    select '{{ year }}', {{ content_hash('t') }}
    from {{ rel.schema }}.{{ rel.identifier }}__{{ year | replace('/', '_') }} as t
    {%- endfor %}
)

select f.academic_year, f.content_hash as frozen_hash, c.content_hash as current_hash
from {{ 'audit.frozen_partitions' if years else '(select null::text as academic_year, null::text as content_hash, null::text as table_name where false)' }} as f
left join current_hashes as c on c.academic_year = f.academic_year
where f.table_name = 'fct_vespa_results' and c.content_hash is distinct from f.content_hash
