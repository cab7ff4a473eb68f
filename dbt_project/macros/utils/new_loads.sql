{% macro new_loads_only() -%}
    {#- a where clause for an incremental model over staging: on an incremental run, only the rows a raw load
        wrote after the newest load already in the model (a changed, new, retired or returned record) -#}
    {%- if is_incremental() -%}
    where load_id::numeric > (select coalesce(max(load_id::numeric), 0) from {{ this }})
    {%- endif -%}
{%- endmacro %}
