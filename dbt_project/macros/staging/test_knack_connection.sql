{% test knack_connection(model, column_name, to, field) %}
{#- every id in the text[] column points at an existing record of the connected staging model -#}
with ids as (
    select knack_id as record_id, unnest({{ column_name }}) as connected_id
    from {{ model }}
),

targets as (
    select knack_id from {{ to }}
)

select ids.record_id, '{{ field }}' as field_key, ids.connected_id
from ids
left join targets on targets.knack_id = ids.connected_id
where targets.knack_id is null
{% endtest %}
