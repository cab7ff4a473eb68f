{% macro knack_entities() -%}
    {#- the mapping's domain entities ({} for a generic app) -#}
    {%- set mapping = var('knack_mapping', {}) or {} -%}
    {{ return(mapping.get('entities', {}) or {}) }}
{%- endmacro %}

{% macro has_entities() -%}
    {#- true when the mapping names the school-coaching entities; marts are disabled otherwise -#}
    {{ return(knack_entities() | length > 0) }}
{%- endmacro %}

{% macro entity_model(entity) -%}
    {#- ref() of the staging model holding an entity, through the mapping -#}
    {%- set entities = knack_entities() -%}
    {#- a generic app (no entities): the model is disabled; render a placeholder so parsing works -#}
    {%- if not entities -%}{{ return('(select null) as disabled') }}{%- endif -%}
    {%- if entity not in entities -%}
        {{ exceptions.raise_compiler_error("knack_mapping: entity '" ~ entity ~ "' is not mapped") }}
    {%- endif -%}
    {{ knack_model(entities[entity]['object']) }}
{%- endmacro %}

{% macro entity_column(entity, attribute, part=none) -%}
    {#- staging column name of an entity attribute (mapping attribute -> field key -> column) -#}
    {%- set entities = knack_entities() -%}
    {%- if not entities -%}{{ return(attribute) }}{%- endif -%}
    {%- set fields = entities.get(entity, {}).get('fields', {}) -%}
    {%- if attribute not in fields -%}
        {{ exceptions.raise_compiler_error("knack_mapping: entities." ~ entity ~ ".fields." ~ attribute ~ " is not mapped") }}
    {%- endif -%}
    {{ knack_column(entities[entity]['object'], fields[attribute], part) }}
{%- endmacro %}
