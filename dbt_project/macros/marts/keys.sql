{% macro natural_key(parts) -%}
    {#- SQL: a stable md5 key of normalised natural key parts, joined with '|' -#}
    md5({%- for p in parts -%}coalesce(({{ p }})::text, ''){%- if not loop.last %} || '|' || {% endif -%}{%- endfor -%})
{%- endmacro %}

{% macro normalise_email(expr) -%}
    {#- SQL: lower-case address, NFKC-normalised, with HTML tags, mailto:, spaces and invisible format characters
        (zero-width spaces, joiners, soft hyphens, byte-order marks: the class staging_sql.INVISIBLE_RE) removed -#}
    nullif(lower(regexp_replace(regexp_replace(regexp_replace(regexp_replace(normalize(({{ expr }})::text, NFKC),
        '[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]', '', 'g'),
        '<[^>]*>', '', 'g'), 'mailto:', '', 'gi'), '\s+', '', 'g')), '')
{%- endmacro %}
