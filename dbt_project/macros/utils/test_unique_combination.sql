{% test unique_combination(model, columns) %}
-- the grain: no two rows share these columns' values
select {{ columns | join(', ') }}, count(*) as rows_sharing
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
