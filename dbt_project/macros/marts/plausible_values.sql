{% macro plausible_date_window() -%}
    {#- [earliest, latest] ISO dates the marts accept for a record's own dates (upload, completion): the mapping's
        plausible_dates.earliest, and days_ahead days after the run's as-of date. At parse time (execute false)
        nothing is read from the environment, so partial parsing records no run-time setting (see run_var) -#}
    {%- set window = (var('knack_mapping', {}) or {}).get('plausible_dates', {}) or {} -%}
    {%- set earliest = window.get('earliest', '2000-01-01') | string -%}
    {%- set as_of = earliest -%}
    {%- if execute -%}
        {%- set as_of = (run_var('as_of_date') or run_started_at.strftime('%Y-%m-%d')) | string -%}
    {%- endif -%}
    {%- set latest = modules.datetime.date.fromisoformat(as_of[:10])
        + modules.datetime.timedelta(days=(window.get('days_ahead', 366) | int)) -%}
    {{ return([earliest, latest.isoformat()]) }}
{%- endmacro %}

{% macro is_implausible_date(date_expr) -%}
    {#- SQL: true when a (non-null) date lies outside plausible_date_window() -#}
    {%- set window = plausible_date_window() -%}
    ({{ date_expr }} not between date '{{ window[0] }}' and date '{{ window[1] }}')
{%- endmacro %}

{% macro implausible_date_detail(label, date_expr) -%}
    {#- SQL: the quarantine detail naming the date and the window it left -#}
    {%- set window = plausible_date_window() -%}
    '{{ label }} ' || {{ date_expr }}::text || ' is outside the plausible window {{ window[0] }} to {{ window[1] }}'
{%- endmacro %}

{% macro score_scale() -%}
    {#- [min, max] of the VESPA scores: entities.vespa_results.score_scale in the mapping (default 1 to 10) -#}
    {%- set scale = (knack_entities().get('vespa_results', {}) or {}).get('score_scale', {}) or {} -%}
    {{ return([scale.get('min', 1), scale.get('max', 10)]) }}
{%- endmacro %}

{% macro is_out_of_scale(columns) -%}
    {#- SQL: true when any of the (numeric) score columns lies outside score_scale(); nulls are not scores -#}
    {%- set scale = score_scale() -%}
    (least({{ columns | join(', ') }}) < {{ scale[0] }} or greatest({{ columns | join(', ') }}) > {{ scale[1] }})
{%- endmacro %}

{% macro out_of_scale_detail(columns) -%}
    {#- SQL: which scores left the scale, with their values (huge ones in scientific notation) -#}
    {%- set scale = score_scale() -%}
    'scores outside the scale {{ scale[0] }} to {{ scale[1] }}: ' || concat_ws(', '
    {%- for c in columns %},
        case when {{ c }} not between {{ scale[0] }} and {{ scale[1] }} then '{{ c.split(".")[-1] }} '
            || case when abs({{ c }}) < 1e6 then {{ c }}::text else trim(to_char({{ c }}, '9.99EEEE')) end end
    {%- endfor %})
{%- endmacro %}
