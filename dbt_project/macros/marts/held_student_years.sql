{% macro held_student_years(previous, frozen) -%}
    {#- the keys of the student-years of the frozen years in `previous` (the dim_students a build replaces) that
        today's int_students_resolved no longer gives and a frozen partition of fct_vespa_results still points
        at. Two queries as the model compiles: the vanished ones (usually none), then, only if there are any,
        which of them the frozen partitions hold, so a quiet day reads no frozen partition -#}
    {%- set vanished_sql -%}
        select p.student_key
        from {{ previous }} as p
        where p.academic_year in {{ literal_list(frozen) }}
            and not exists (
                select from {{ ref('int_students_resolved') }} as r
                where r.student_key = p.student_key and r.academic_year in {{ literal_list(frozen) }}
            )
    {%- endset -%}
    {%- set vanished = run_query(vanished_sql).columns[0].values() | list -%}
    {%- if not vanished -%}{{ return([]) }}{%- endif -%}
    {%- set held_sql -%}
        select distinct student_key
        from {{ previous.schema }}.fct_vespa_results
        where academic_year in {{ literal_list(frozen) }} and student_key in {{ literal_list(vanished) }}
        order by 1
    {%- endset -%}
    {{ return(run_query(held_sql).columns[0].values() | list) }}
{%- endmacro %}
