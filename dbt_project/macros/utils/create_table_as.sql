{% macro postgres__create_table_as(temporary, relation, sql) -%}
    {#- dbt-postgres creates a contracted table with its keys, then inserts: every row then fires its foreign
        key triggers one by one (27 s for 0.8 M bridge rows). Here the columns, types, NOT NULL and CHECK
        come first, the rows next, and the primary, unique and foreign keys are added last, each checked by
        PostgreSQL in one pass over the table (4 s). The same constraints, enforced in the database. -#}
    {%- set contract_config = config.get('contract') -%}
    {%- if temporary or not contract_config.enforced -%}
        {{ return(dbt.postgres__create_table_as(temporary, relation, sql)) }}
    {%- endif -%}
    {{ get_assert_columns_equivalent(sql) }}
    {%- set columns = [] -%}
    {%- set keys = adapter.render_raw_model_constraints(raw_constraints=model['constraints']) -%}
    {%- for name, column in model['columns'].items() -%}
        {%- set ddl = [adapter.quote(name) if column.get('quote') else name, column['data_type']] -%}
        {%- for c in column.get('constraints', []) -%}
            {%- if c['type'] == 'not_null' -%}
                {%- do ddl.append('not null') -%}
            {%- elif c['type'] == 'check' -%}
                {%- do ddl.append('check (' ~ c['expression'] ~ ')') -%}
            {%- else -%}
                {%- set key = c.copy() -%}
                {%- do key.update({'columns': [name]}) -%}
                {%- do keys.extend(adapter.render_raw_model_constraints(raw_constraints=[key])) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do columns.append(ddl | join(' ')) -%}
    {%- endfor %}
    {{ config.get('sql_header') or '' }}
    create {{ 'unlogged ' if config.get('unlogged', default=false) }}table {{ relation }} (
        {{ columns | join(',\n        ') }}
    );
    insert into {{ relation }} ({{ adapter.dispatch('get_column_names', 'dbt')() }})
    {{ get_select_subquery(sql) }};
    {%- for key in keys if key %}
    alter table {{ relation }} add {{ key }};
    {%- endfor %}
{%- endmacro %}
