{% test unique_knack_id(model, column_name) %}
{#- no two rows share the id; a new row is checked against every row, rows already tested are not re-read.
    `= any(array(...))`, not `in (select ...)`: PostgreSQL then looks the new ids up in raw's primary key; for
    the `in` it scanned all of raw (1.0 s against 13 ms for a day's 3,688 new results at scale 10) -#}
{%- set untested = untested_loads() | trim -%}
select {{ column_name }}, count(*) as rows_sharing
from {{ model }}
{%- if untested != 'true' %}
where {{ column_name }} = any(array(select {{ column_name }} from {{ model }} where {{ untested }}))
{%- endif %}
group by {{ column_name }}
having count(*) > 1
{% endtest %}
