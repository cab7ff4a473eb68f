{% macro copy_comments_sql(source, target) -%}
    {#- SQL: the table's and every column's comment (persist_docs wrote them on the candidate) onto the
        published table, so analysts' tools show the yml descriptions (a column without one loses its comment) -#}
do $$
declare col record;
begin
    execute format('comment on table %s is %L', '{{ target }}', obj_description('{{ source }}'::regclass, 'pg_class'));
    for col in select a.attname, col_description(a.attrelid, a.attnum) as note
               from pg_attribute as a
               where a.attrelid = '{{ source }}'::regclass and a.attnum > 0 and not a.attisdropped loop
        execute format('comment on column %s.%I is %L', '{{ target }}', col.attname, col.note);
    end loop;
end $$;
{%- endmacro %}
