{% macro analyst_role() -%}
    {#- the app mapping's `analyst_role`, else var `analyst_role` (dbt run by hand), else knackhouse_analyst -#}
    {%- set mapping = var('knack_mapping', {}) or {} -%}
    {{ return(mapping.get('analyst_role') or var('analyst_role', 'knackhouse_analyst')) }}
{%- endmacro %}

{% macro grant_analyst_sql(marts_schema='marts') -%}
    {#- SQL: the read-only analyst role (NOLOGIN group role) reads `marts` and nothing else -#}
    {%- set role = analyst_role() -%}
    do $$ begin
        if not exists (select 1 from pg_roles where rolname = '{{ role }}') then
            create role {{ role }} nologin;
        end if;
    end $$;
    revoke all on schema public from {{ role }};
    grant usage on schema {{ marts_schema }} to {{ role }};
    grant select on all tables in schema {{ marts_schema }} to {{ role }};
    alter default privileges in schema {{ marts_schema }} grant select on tables to {{ role }};
{%- endmacro %}

{% macro grant_analyst(marts_schema='marts') %}
    {% do run_query(grant_analyst_sql(marts_schema)) %}
{% endmacro %}
