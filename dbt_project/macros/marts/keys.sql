{% macro natural_key(parts) -%}
    {#- SQL: a stable md5 key of normalised natural key parts, joined with '|' -#}
    md5({%- for p in parts -%}coalesce(({{ p }})::text, ''){%- if not loop.last %} || '|' || {% endif -%}{%- endfor -%})
{%- endmacro %}

{% macro normalise_email(expr) -%}
    {#- SQL: lower-case address with HTML tags, mailto: and spaces removed -#}
    nullif(lower(regexp_replace(regexp_replace(regexp_replace({{ expr }}, '<[^>]*>', '', 'g'), 'mailto:', '', 'gi'), '\s+', '', 'g')), '')
{%- endmacro %}
