{% macro knack_column(object_key, field_key, part=none) -%}
    {#- the staging column name of a field (and part), from the generated `knack_staging` var -#}
    {%- set objects = var('knack_staging', {}) -%}
    {%- if object_key not in objects -%}
        {{ exceptions.raise_compiler_error("knack_column: unknown object " ~ object_key) }}
    {%- endif -%}
    {%- set fields = objects[object_key]['fields'] -%}
    {%- if field_key not in fields -%}
        {{ exceptions.raise_compiler_error("knack_column: unknown field " ~ object_key ~ "." ~ field_key) }}
    {%- endif -%}
    {%- set slug = fields[field_key] -%}
    {%- if part is none -%}{{ slug }}{%- else -%}{{ slug }}_{{ part }}{%- endif -%}
{%- endmacro %}

{% macro knack_model(object_key) -%}
    {#- ref() to the staging model of an object -#}
    {%- set objects = var('knack_staging', {}) -%}
    {{ ref('stg_knack__' ~ objects[object_key]['table']) }}
{%- endmacro %}
