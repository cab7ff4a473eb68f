{% macro start_typed_shapes() -%}
    {#- on-run-start: the table of typed-table fingerprints (record_typed_shape), made before models run
        side by side -#}
    create schema if not exists audit;
    create table if not exists audit.typed_shapes (
        table_name text primary key,
        shape text not null,
        recorded_at timestamptz not null
    )
{%- endmacro %}

{% macro record_typed_shape(shape) -%}
    {#- a post-hook of each typed table: the fingerprint of how it is typed now (knackhouse.typed_sql.shape);
        a run that finds another fingerprint rebuilds the table whole instead of retyping new loads only -#}
    insert into audit.typed_shapes (table_name, shape, recorded_at)
    values ('{{ this.identifier }}', '{{ shape }}', now())
    on conflict (table_name) do update set shape = excluded.shape, recorded_at = excluded.recorded_at
{%- endmacro %}

{% macro forget_changed_links(records) -%}
    {#- a pre-hook of each link table: the pairs of the records changed since its newest load are removed, so
        the model's new rows replace them (a record whose connections were all cleared, or that was deleted,
        keeps none) -#}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where from_knack_id = any(array(select knack_id from {{ records }} where {{ newer_load() }}))
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
