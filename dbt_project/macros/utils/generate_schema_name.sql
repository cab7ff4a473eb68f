{% macro generate_schema_name(custom_schema_name, node) -%}
    {#- a custom schema is used verbatim: staging, intermediate, marts_candidate, quarantine -#}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
