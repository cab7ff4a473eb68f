{% macro run_var(name, default=none) -%}
    {#- a setting that changes from run to run (as-of date, years to reopen): the JSON in environment variable
        KNACKHOUSE_DBT_<NAME> when knackhouse set it, else var(name). knackhouse passes these through the
        environment because a changed --vars makes dbt re-parse the whole project (~2 s a daily run);
        read at run time only, so partial parsing never records them -#}
    {%- set from_env = env_var('KNACKHOUSE_DBT_' ~ (name | upper), '') -%}
    {%- if from_env -%}
        {{ return(fromjson(from_env)) }}
    {%- endif -%}
    {{ return(var(name, default)) }}
{%- endmacro %}
