{% macro academic_year_is_closed(label) -%}
    {#- True when every day of the academic year `label` ('YYYY/YYYY') is before the run's as-of date: a
        calendar year (2025/2025) ends on 31 December; any other (2024/2025) on the day before the latest
        start day the mapping configures, so no school's current year is ever frozen early -#}
    {%- set as_of = run_var('as_of_date') or run_started_at.strftime('%Y-%m-%d') -%}
    {%- set first, last = label.split('/') -%}
    {%- if first == last -%}
        {{ return(as_of > (last ~ '-12-31')) }}
    {%- endif -%}
    {%- set mapping = var('knack_mapping', {}) or {} -%}
    {%- set starts = [academic_year_default_start()] + ((mapping.get('academic_year', {}) or {}).get('by_country', {}) or {}).values() | list -%}
    {%- set split_starts = starts | reject('equalto', '01-01') | list or ['08-01'] -%}
    {{ return(as_of >= (last ~ '-' ~ (split_starts | max))) }}
{%- endmacro %}

{% macro frozen_years(years) -%}
    {#- those of `years` that are frozen: closed (academic_year_is_closed, or in var closed_years) and not in
        var reopen_years; a build neither computes nor rewrites them -#}
    {%- set closed_cfg = var('closed_years', []) -%}
    {%- set reopen = run_var('reopen_years', []) -%}
    {%- set frozen = [] -%}
    {%- for year in years if year is not none -%}
        {%- if (academic_year_is_closed(year) or year in closed_cfg) and year not in reopen -%}
            {%- do frozen.append(year) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(frozen) }}
{%- endmacro %}

{% macro frozen_fact_years() -%}
    {#- the frozen years of fct_vespa_results' partitions in the schema of the model being built -#}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {{ return(frozen_years(partition_years(this.schema, 'fct_vespa_results'))) }}
{%- endmacro %}

{% macro literal_list(values) -%}
    {#- SQL: a non-empty list of plain strings (academic years, md5 keys) as a parenthesised list of literals -#}
    ({% for value in values %}'{{ value }}'{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}

{% macro outside_years(years, column='academic_year') -%}
    {#- SQL: the row's `column` is none of `years` (a non-empty list) -#}
    {{ column }} not in {{ literal_list(years) }}
{%- endmacro %}

{% macro content_hash(alias) -%}
    {#- SQL aggregate: a hash of a table's rows regardless of their order (row count and two seeded sums of
        PostgreSQL's record hash), one pass, no sort; the same rows always give the same hash -#}
    md5(count(*) || ':' || coalesce(sum(hash_record_extended({{ alias }}, 0)::numeric), 0) || ':'
        || coalesce(sum(hash_record_extended({{ alias }}, 1)::numeric), 0))
{%- endmacro %}

{% macro partition_years(schema, table) -%}
    {#- the academic years (list values) of the partitions a partitioned table has -#}
    {%- set query -%}
        select substring(pg_get_expr(c.relpartbound, c.oid) from $$'([^']*)'$$)
        from pg_inherits as i
        join pg_class as c on c.oid = i.inhrelid
        join pg_class as p on p.oid = i.inhparent
        join pg_namespace as n on n.oid = p.relnamespace
        where n.nspname = '{{ schema }}' and p.relname = '{{ table }}'
        order by 1
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}

{% materialization partitioned_by_year, adapter='postgres' %}
    {#- a table partitioned BY LIST (academic_year): partitions created as needed, open years
        rewritten, closed years (every day before the as-of date, or in var closed_years) frozen unless in
        var reopen_years; a content hash of every frozen partition is kept in audit.frozen_partitions -#}
    {%- set target = this.incorporate(type='table') -%}
    {%- set existing = load_cached_relation(this) -%}
    {%- set closed_cfg = var('closed_years', []) -%}
    {%- set reopen = run_var('reopen_years', []) -%}
    {%- set tmp = this.schema ~ '.' ~ this.identifier ~ '__build' -%}
    {%- set enforced = config.get('contract').enforced -%}
    {%- set columns = adapter.dispatch('get_column_names', 'dbt')() if enforced else '*' -%}
    {#- an enforced contract: the SQL's columns and types must match the yml (dbt raises before anything is
        written), and the parent is created from the yml's columns and constraints -#}
    {% if enforced %}{{ get_assert_columns_equivalent(sql) }}{% endif %}

    {{ run_hooks(pre_hooks) }}

    {#- a closed year whose partition exists is frozen: this build neither computes nor rewrites it -#}
    {%- set partitioned = partition_years(this.schema, this.identifier) if existing is not none else [] -%}
    {%- set frozen = frozen_years(partitioned) -%}

    {% call statement('stage') %}
        create schema if not exists audit;
        create table if not exists audit.frozen_partitions (
            table_name text not null, academic_year text not null, content_hash text not null,
            row_count bigint not null, frozen_at timestamptz not null default now(),
            primary key (table_name, academic_year));
        drop table if exists {{ tmp }};
        create table {{ tmp }} as
        select * from (
            {{ sql }}
        ) as built
        {%- if frozen %}
        where {{ outside_years(frozen) }}
        {%- endif %};
    {% endcall %}
    {%- set hashed = run_query("select academic_year from audit.frozen_partitions where table_name = '" ~ this.identifier ~ "'").columns[0].values() | list -%}

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

    {%- set built_years = run_query("select distinct academic_year from " ~ tmp).columns[0].values() | list -%}
    {%- set years = (built_years + frozen) | unique | sort -%}
    {% for year in years %}
        {%- set part = this.identifier ~ '__' ~ year | replace('/', '_') -%}
        {%- set part_rel = this.schema ~ '.' ~ part -%}
        {%- set exists = year in partitioned -%}
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
                {#- truncate, not delete: a deleted row stays behind as a dead tuple until a vacuum (the open
                    partitions grew by their size every day where autovacuum is off) -#}
                truncate {{ part_rel }};
                insert into {{ part_rel }} {{ '(' ~ columns ~ ')' if enforced }} select {{ columns }} from {{ tmp }} where academic_year = '{{ year }}';
                {% if year in reopen %}delete from audit.frozen_partitions where table_name = '{{ this.identifier }}' and academic_year = '{{ year }}';{% endif %}
            {% endcall %}
        {% endif %}
        {% if closed and (year not in hashed or year in reopen) %}
            {% call statement('hash_' ~ loop.index) %}
                insert into audit.frozen_partitions (table_name, academic_year, content_hash, row_count)
                select '{{ this.identifier }}', '{{ year }}',
                       {{ content_hash('t') }}, count(*)
                from {{ part_rel }} as t
                on conflict (table_name, academic_year) do nothing;
            {% endcall %}
        {% endif %}
    {% endfor %}

    {% call statement('main') %}
        drop table if exists {{ tmp }};
    {% endcall %}

    {{ run_hooks(post_hooks) }}
    {#- descriptions of the yml as comments on the parent (partitions are read through it) -#}
    {% do persist_docs(target, model) %}
    {{ adapter.commit() }}
    {{ return({'relations': [target]}) }}
{% endmaterialization %}
