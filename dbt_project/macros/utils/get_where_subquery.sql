{% macro postgres__get_where_subquery(relation) -%}
    {#- dbt's `where` test config, plus one placeholder resolved when the test runs: `__unfrozen_years__`
        keeps the rows outside the frozen partitions of a partitioned_by_year table (frozen_years), so a
        daily build tests what it wrote and never rescans a closed year: a frozen partition was tested when
        it was last written, its primary key is enforced by PostgreSQL, and assert_frozen_partitions_unchanged
        proves it unchanged since; `__untested_loads__` keeps the rows of loads the test has not yet
        passed on (untested_loads, macros/staging/tested_loads.sql) -#}
    {%- set where = config.get('where') or '' -%}
    {%- if '__unfrozen_years__' in where -%}
        {%- set frozen = frozen_years(partition_years(relation.schema, relation.identifier)) if execute else [] -%}
        {%- set kept -%}
            {%- if frozen -%}
            {{ outside_years(frozen) }}
            {%- else -%}
            true
            {%- endif -%}
        {%- endset -%}
        {%- set where = where | replace('__unfrozen_years__', kept) -%}
    {%- endif -%}
    {%- if '__untested_loads__' in where -%}
        {%- set where = where | replace('__untested_loads__', untested_loads()) -%}
    {%- endif -%}
    {%- if where -%}
        {{ return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}
