{% macro establishment_values(setting, default) -%}
    {#- the mapping's entities.establishments.<setting> (active_statuses, coaching_portal_types) as SQL literals
        separated by commas; knackhouse passes them lower-cased with runs of spaces made one
        (app_config.as_dbt_var) -#}
    {%- set spec = knack_entities().get('establishments', {}) or {} -%}
    {%- set values = spec.get(setting) or default -%}
    {%- for value in values -%}
        '{{ value | lower | replace("'", "''") }}'{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{% macro is_active_status(status_expr) -%}
    {#- SQL: the status (lower-cased, trimmed) is one of the mapping's active_statuses (default: active) -#}
    coalesce(regexp_replace({{ status_expr }}, '\s+', ' ', 'g') in ({{ establishment_values('active_statuses', ['active']) }}), false)
{%- endmacro %}

{% macro is_coaching_portal_type(portal_expr) -%}
    {#- SQL: the portal type (lower-cased, trimmed) matches one of the mapping's coaching_portal_types, LIKE
        patterns (default: %coaching portal%), any spacing -#}
    coalesce(regexp_replace({{ portal_expr }}, '\s+', ' ', 'g') like any (array[{{ establishment_values('coaching_portal_types', ['%coaching portal%']) }}]), false)
{%- endmacro %}
