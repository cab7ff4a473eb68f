{% test unique_knack_id(model, column_name) %}
{#- no two rows share the id; a new row is checked against every row, rows already tested are not re-read -#}
{%- set untested = untested_loads() | trim -%}
select {{ column_name }}, count(*) as rows_sharing
from {{ model }}
{%- if untested != 'true' %}
where {{ column_name }} in (select {{ column_name }} from {{ model }} where {{ untested }})
{%- endif %}
group by {{ column_name }}
having count(*) > 1
{% endtest %}
