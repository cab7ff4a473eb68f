{% macro publish_marts(marts_schema='marts', candidate_schema='marts_candidate', reopen_years=none) %}
    {#- copy every candidate mart into `marts` in ONE batch wrapped in begin ... commit (all or nothing):
        each plain table is dropped (cascade, reverse dependency order) and re-created `like` its candidate
        (including all), its rows copied, then the foreign keys between the published tables re-added (`like`
        copies none). fct_vespa_results keeps its partitioned parent in `marts` (created if missing); each
        candidate partition is dropped, re-created and copied unless its year is frozen (hash in
        audit.frozen_partitions) and already published, in which case it is left as is, unless reopened.
        The analyst grants are re-applied last. -#}
    {%- set tables = ['dim_establishments', 'dim_students', 'dim_staff', 'bridge_staff_students', 'quarantine_summary'] -%}
    {#- a year is frozen when the build recorded its hash in audit.frozen_partitions (the build's
        as-of date decided it), so publish needs no date of its own -#}
    {%- set frozen = [] -%}
    {%- if adapter.get_relation(database=target.database, schema='audit', identifier='frozen_partitions') -%}
        {%- set frozen = run_query("select academic_year from audit.frozen_partitions where table_name = 'fct_vespa_results'").columns[0].values() | list -%}
    {%- endif -%}
    {%- set reopen = reopen_years if reopen_years is not none else run_var('reopen_years', []) -%}
    {%- set sql = ["begin;", "create schema if not exists " ~ marts_schema ~ ";"] -%}
    {#- drop in reverse dependency order, then move candidates in -#}
    {%- for t in tables | reverse -%}
        {%- if adapter.get_relation(database=target.database, schema=candidate_schema, identifier=t) -%}
            {%- do sql.append("drop table if exists " ~ marts_schema ~ "." ~ t ~ " cascade;") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for t in tables -%}
        {%- if adapter.get_relation(database=target.database, schema=candidate_schema, identifier=t) -%}
            {%- do sql.append("create table " ~ marts_schema ~ "." ~ t ~ " (like " ~ candidate_schema ~ "." ~ t ~ " including all);") -%}
            {%- do sql.append("insert into " ~ marts_schema ~ "." ~ t ~ " select * from " ~ candidate_schema ~ "." ~ t ~ ";") -%}
        {%- endif -%}
    {%- endfor -%}
    {#- `like` copies no foreign keys: re-create them between the published tables -#}
    {%- for child, cols, parent in [('dim_students', 'establishment_key', 'dim_establishments'),
                                    ('dim_staff', 'establishment_key', 'dim_establishments'),
                                    ('bridge_staff_students', 'staff_key', 'dim_staff'),
                                    ('bridge_staff_students', 'student_key', 'dim_students')] -%}
        {%- if adapter.get_relation(database=target.database, schema=candidate_schema, identifier=child) and adapter.get_relation(database=target.database, schema=candidate_schema, identifier=parent) -%}
            {%- do sql.append("alter table " ~ marts_schema ~ "." ~ child ~ " add foreign key (" ~ cols ~ ") references " ~ marts_schema ~ "." ~ parent ~ " (" ~ cols ~ ");") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if adapter.get_relation(database=target.database, schema=candidate_schema, identifier='fct_vespa_results') -%}
        {%- do sql.append("create table if not exists " ~ marts_schema ~ ".fct_vespa_results (like " ~ candidate_schema ~ ".fct_vespa_results including defaults including constraints including indexes) partition by list (academic_year);") -%}
        {%- set years = partition_years(candidate_schema, 'fct_vespa_results') -%}
        {%- for year in years -%}
            {%- set part = 'fct_vespa_results__' ~ (year | replace('/', '_')) -%}
            {%- set published = adapter.get_relation(database=target.database, schema=marts_schema, identifier=part) -%}
            {%- set closed = year in frozen -%}
            {%- if published is none or not closed or year in reopen -%}
                {%- do sql.append("drop table if exists " ~ marts_schema ~ "." ~ part ~ ";") -%}
                {%- do sql.append("create table " ~ marts_schema ~ "." ~ part ~ " partition of " ~ marts_schema ~ ".fct_vespa_results for values in ('" ~ year ~ "');") -%}
                {%- do sql.append("insert into " ~ marts_schema ~ "." ~ part ~ " select * from " ~ candidate_schema ~ "." ~ part ~ ";") -%}
            {%- else -%}
                {{ log("publish_marts: " ~ marts_schema ~ "." ~ part ~ " is frozen; kept as published", info=true) }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- do sql.append(grant_analyst_sql(marts_schema)) -%}
    {%- do sql.append("commit;") -%}
    {% do run_query(sql | join('\n')) %}
    {{ log("publish_marts: published " ~ candidate_schema ~ " into " ~ marts_schema, info=true) }}
{% endmacro %}
