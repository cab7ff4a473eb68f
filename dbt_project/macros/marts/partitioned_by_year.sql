{% macro academic_year_is_closed(label) -%}
    {#- True when every day of the academic year `label` ('YYYY/YYYY') is before the run's as-of date: a
        calendar year (2025/2025) ends on 31 December; any other (2024/2025) on the day before the latest
        start day the mapping configures, so no school's current year is ever frozen early -#}
    {%- set as_of = var('as_of_date', none) or run_started_at.strftime('%Y-%m-%d') -%}
    {%- set first, last = label.split('/') -%}
    {%- if first == last -%}
        {{ return(as_of > (last ~ '-12-31')) }}
    {%- endif -%}
    {%- set mapping = var('knack_mapping', {}) or {} -%}
    {%- set starts = [academic_year_default_start()] + ((mapping.get('academic_year', {}) or {}).get('by_country', {}) or {}).values() | list -%}
    {%- set split_starts = starts | reject('equalto', '01-01') | list or ['08-01'] -%}
    {{ return(as_of >= (last ~ '-' ~ (split_starts | max))) }}
{%- endmacro %}

{% materialization partitioned_by_year, adapter='postgres' %}
    {#- a table partitioned BY LIST (academic_year): partitions created as needed, open years
        rewritten, closed years (every day before the as-of date, or in var closed_years) frozen unless in
        var reopen_years; a content hash of every frozen partition is kept in audit.frozen_partitions -#}
    {%- set target = this.incorporate(type='table') -%}
    {%- set existing = load_cached_relation(this) -%}
    {%- set closed_cfg = var('closed_years', []) -%}
    {%- set reopen = var('reopen_years', []) -%}
    {%- set tmp = this.schema ~ '.' ~ this.identifier ~ '__build' -%}
    {%- set enforced = config.get('contract').enforced -%}
    {%- set columns = adapter.dispatch('get_column_names', 'dbt')() if enforced else '*' -%}
    {#- an enforced contract: the SQL's columns and types must match the yml (dbt raises before anything is
        written), and the parent is created from the yml's columns and constraints -#}
    {% if enforced %}{{ get_assert_columns_equivalent(sql) }}{% endif %}

    {{ run_hooks(pre_hooks) }}

    {% call statement('stage') %}
        create schema if not exists audit;
        create table if not exists audit.frozen_partitions (
            table_name text not null, academic_year text not null, content_hash text not null,
            row_count bigint not null, frozen_at timestamptz not null default now(),
            primary key (table_name, academic_year));
        drop table if exists {{ tmp }};
        create table {{ tmp }} as {{ sql }};
    {% endcall %}

    {% if existing is none or should_full_refresh() %}
        {% if existing is not none %}
            {#- a full refresh keeps frozen partitions: only the parent's open partitions are rebuilt -#}
        {% else %}
        {% call statement('create_parent') %}
            {% if enforced %}
            create table {{ target }} {{ get_table_columns_and_constraints() }} partition by list (academic_year);
            {% else %}
            create table {{ target }} (like {{ tmp }}) partition by list (academic_year);
            alter table {{ target }} add primary key ({{ config.get('partition_key', 'result_key') }}, academic_year);
            {% endif %}
        {% endcall %}
        {% endif %}
    {% endif %}

    {%- set years = run_query("select distinct academic_year from " ~ tmp ~ " order by 1").columns[0].values() -%}
    {% for year in years %}
        {%- set part = this.identifier ~ '__' ~ year | replace('/', '_') -%}
        {%- set part_rel = this.schema ~ '.' ~ part -%}
        {%- set exists = run_query("select to_regclass('" ~ part_rel ~ "') is not null").columns[0].values()[0] -%}
        {%- set closed = academic_year_is_closed(year) or (year in closed_cfg) -%}
        {% if not exists %}
            {% call statement('part_' ~ loop.index) %}
                create table {{ part_rel }} partition of {{ target }} for values in ('{{ year }}');
                insert into {{ part_rel }} {{ '(' ~ columns ~ ')' if enforced }} select {{ columns }} from {{ tmp }} where academic_year = '{{ year }}';
            {% endcall %}
        {% elif closed and year not in reopen %}
            {{ log("partitioned_by_year: " ~ part_rel ~ " is frozen (closed year " ~ year ~ "); not touched", info=true) }}
        {% else %}
            {% if year in reopen %}
                {{ log("partitioned_by_year: REOPENING closed year " ~ year ~ " of " ~ this, info=true) }}
            {% endif %}
            {% call statement('part_' ~ loop.index) %}
                delete from {{ part_rel }};
                insert into {{ part_rel }} {{ '(' ~ columns ~ ')' if enforced }} select {{ columns }} from {{ tmp }} where academic_year = '{{ year }}';
                {% if year in reopen %}delete from audit.frozen_partitions where table_name = '{{ this.identifier }}' and academic_year = '{{ year }}';{% endif %}
            {% endcall %}
        {% endif %}
        {% if closed %}
            {% call statement('hash_' ~ loop.index) %}
                insert into audit.frozen_partitions (table_name, academic_year, content_hash, row_count)
                select '{{ this.identifier }}', '{{ year }}',
                       md5(coalesce(string_agg(t::text, E'\n' order by t::text), '')), count(*)
                from {{ part_rel }} as t
                on conflict (table_name, academic_year) do nothing;
            {% endcall %}
        {% endif %}
    {% endfor %}

    {% call statement('main') %}
        drop table if exists {{ tmp }};
    {% endcall %}

    {{ run_hooks(post_hooks) }}
    {{ adapter.commit() }}
    {{ return({'relations': [target]}) }}
{% endmaterialization %}
