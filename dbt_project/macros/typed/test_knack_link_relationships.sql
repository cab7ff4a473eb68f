{% test knack_link_relationships(model, column_name, to, field) %}
{#- a relationships test that also counts a deleted record as missing: each pair whose connected record raw
    does not have, or has as deleted (a dangling connection; also listed in knack.dangling_connections) -#}
select links.from_knack_id, '{{ field }}' as field_key, links.{{ column_name }} as to_knack_id,
    case when targets.knack_id is null then 'no such record' else 'deleted' end as reason
from {{ model }} as links
left join {{ to }} as targets on targets.knack_id = links.{{ column_name }}
where targets.knack_id is null or targets.is_deleted
{% endtest %}
