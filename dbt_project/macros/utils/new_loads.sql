{% macro new_loads_only() -%}
    {#- a where clause for a model or snapshot over staging that builds on itself: on an incremental run (for
        a snapshot: once it exists), only the rows a raw load wrote after the newest load it already holds
        (a changed, new, retired or returned record) -#}
    {%- set builds_on_itself = (load_relation(this) is not none) if model.resource_type == 'snapshot' else is_incremental() -%}
    {%- if builds_on_itself -%}
    where {{ newer_load() }}
    {%- endif -%}
{%- endmacro %}

{% macro newer_load(column='load_id') -%}
    {#- the row's load is newer than the newest load {{ this }} holds (load ids compare as numbers). The bound
        is a literal, not a subquery, so PostgreSQL can estimate it and read raw through its load-id index
        (ingest builds one per table) instead of scanning every record -#}
    {%- set newest = run_query('select coalesce(max(load_id::numeric), 0) from ' ~ this).columns[0].values()[0] if execute else 0 -%}
    {{ column }}::numeric > {{ newest }}
{%- endmacro %}

{% macro load_id_index() -%}
    {#- a post-hook for the tables newer_load() reads: an index on the load id as a number, so that the newest
        load is an index probe and the rows of newer loads are estimated and read through it (without it a
        snapshot planned ~1% of new rows as a third of the table and sorted every current version twice).
        A hook, not `indexes`, so that a table built before it existed gets it too; analyzed once, when
        made, as the planner has no statistics on an expression until then -#}
    {%- set index_name = this.identifier ~ '__load_id' -%}
    do $$
    begin
        if to_regclass('{{ this.schema }}.{{ index_name }}') is null then
            create index {{ index_name }} on {{ this }} ((load_id::numeric));
            analyze {{ this }};
        end if;
    end
    $$
{%- endmacro %}
