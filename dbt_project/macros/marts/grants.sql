{% macro analyst_role() -%}
    {#- the app mapping's `analyst_role`, else var `analyst_role` (dbt run by hand), else knackhouse_analyst -#}
    {%- set mapping = var('knack_mapping', {}) or {} -%}
    {{ return(mapping.get('analyst_role') or var('analyst_role', 'knackhouse_analyst')) }}
{%- endmacro %}

{% macro grant_analyst_sql(marts_schema='marts') -%}
    {#- SQL: the read-only analyst role (NOLOGIN group role) reads `marts` and the typed `knack`, nothing else -#}
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
    {{ grant_typed_sql(role) }}
    {{ restrict_public_sql(role) }}
{%- endmacro %}

{% macro grant_typed_sql(role, typed_schema='knack') -%}
    {#- SQL: the analyst also reads the typed tables of every Knack object (schema `knack`), once built -#}
    do $$ begin
        if to_regnamespace('{{ typed_schema }}') is not null then
            execute format('grant usage on schema %I to %I', '{{ typed_schema }}', '{{ role }}');
            execute format('grant select on all tables in schema %I to %I', '{{ typed_schema }}', '{{ role }}');
            execute format('alter default privileges in schema %I grant select on tables to %I',
                           '{{ typed_schema }}', '{{ role }}');
        end if;
    end $$;
{%- endmacro %}

{% macro restrict_public_sql(role) -%}
    {#- SQL: PUBLIC's default rights reach every role, the analyst's too, and only PUBLIC can lose them. The
        database's owner takes CONNECT and TEMP on the database and USAGE on schema public from PUBLIC and gives
        the analyst CONNECT back; a superuser also hides the views' SQL (pg_get_viewdef, pg_get_ruledef and
        pg_rewrite, kept by the database's owner). What a role may not do is left to the administrator
        (docs/operations.md) -#}
    do $$
    declare
        is_super boolean := (select rolsuper from pg_roles where rolname = current_user);
        owns_database boolean := pg_has_role(current_user,
            (select datdba from pg_database where datname = current_database()), 'usage');
        owns_public boolean := coalesce((select pg_has_role(current_user, nspowner, 'usage')
                                         from pg_namespace where nspname = 'public'), false);
        fn regprocedure;
    begin
        if is_super or owns_database then
            execute format('revoke connect, temporary on database %I from public', current_database());
            execute format('grant connect on database %I to %I', current_database(), '{{ role }}');
        end if;
        if owns_public or (is_super and to_regnamespace('public') is not null) then
            revoke all on schema public from public;
        end if;
        if is_super then
            for fn in select p.oid::regprocedure from pg_proc p
                      where p.pronamespace = 'pg_catalog'::regnamespace
                        and p.proname in ('pg_get_viewdef', 'pg_get_ruledef') loop
                execute format('revoke execute on function %s from public', fn);
                execute format('grant execute on function %s to pg_database_owner', fn);
            end loop;
            revoke select on pg_catalog.pg_rewrite from public;
            grant select on pg_catalog.pg_rewrite to pg_database_owner;
        end if;
    end $$;
{%- endmacro %}

{% macro grant_analyst(marts_schema='marts') %}
    {% do run_query(grant_analyst_sql(marts_schema)) %}
{% endmacro %}
