{#- Staging tests read the raw JSON of every record, so a daily build tests only the rows of loads it has not
    tested yet. A test's watermark (audit.tested_loads) moves to the loads completed when the run started,
    and only when the test passed; a failing or warning test reads from its old watermark again, so its
    stored failures stay complete. This holds because raw rows are only ever rewritten by a newer load
    (dlt merges; a retired record is a rewritten row) and never removed, so a row that passed cannot start
    failing: its own checks (not null, a connected record exists) depend on rows that stay. Uniqueness is
    checked for a new row against every row (unique_knack_id). A full refresh tests every row. -#}

{% macro start_tested_loads() -%}
    {#- on-run-start: the loads this run's tests cover, recorded before any test reads raw -#}
    {%- set loads = adapter.get_relation(database=target.database, schema='raw_knack', identifier='_dlt_loads') -%}
    create schema if not exists audit;
    create table if not exists audit.tested_loads (
        test_id text primary key,
        tested_through_load numeric not null,
        tested_at timestamptz not null
    );
    create table if not exists audit.test_runs (
        invocation_id text primary key,
        loads_through numeric not null,
        started_at timestamptz not null
    );
    {%- if loads %}
    {#- raw not loaded by dlt has no load ids to compare: its tests read every row, every run -#}
    insert into audit.test_runs (invocation_id, loads_through, started_at)
    select '{{ invocation_id }}', max(load_id::numeric), now()
    from {{ loads }}
    where status = 0
    having count(*) > 0
    on conflict (invocation_id) do nothing
    {%- endif %}
{%- endmacro %}

{% macro untested_loads(column='load_id') -%}
    {#- where-condition for the test being compiled: its rows of loads newer than its watermark -#}
    {%- set watermark = none -%}
    {%- if execute and not flags.FULL_REFRESH
        and adapter.get_relation(database=target.database, schema='audit', identifier='tested_loads') -%}
        {%- set found = run_query("select tested_through_load from audit.tested_loads where test_id = '" ~ model.unique_id ~ "'") -%}
        {%- if found.rows | length -%}
            {%- set watermark = found.columns[0].values()[0] -%}
        {%- endif -%}
    {%- endif -%}
    {%- if watermark is none -%}
    true
    {%- else -%}
    {{ column }}::numeric > {{ watermark }}
    {%- endif -%}
{%- endmacro %}

{% macro record_tested_loads(results) -%}
    {#- on-run-end: each passed test that reads untested loads now covers the loads of this run's start -#}
    {%- if execute -%}
        {%- set passed = [] -%}
        {%- for result in results -%}
            {%- if result.node.resource_type == 'test' and result.status == 'pass'
                and reads_untested_loads(result.node) -%}
                {%- do passed.append("'" ~ result.node.unique_id ~ "'") -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if passed -%}
        insert into audit.tested_loads (test_id, tested_through_load, tested_at)
        select test_id, runs.loads_through, now()
        from unnest(array[{{ passed | join(', ') }}]::text[]) as passed (test_id)
        cross join audit.test_runs as runs
        where runs.invocation_id = '{{ invocation_id }}'
        on conflict (test_id) do update
            set tested_through_load = excluded.tested_through_load, tested_at = excluded.tested_at;
        {%- endif %}
        delete from audit.test_runs where invocation_id = '{{ invocation_id }}' or started_at < now() - interval '7 days'
    {%- endif -%}
{%- endmacro %}

{% macro reads_untested_loads(node) -%}
    {%- set where = node.config.get('where') or '' -%}
    {%- set test_name = node.test_metadata.name if node.test_metadata else none -%}
    {{ return('__untested_loads__' in where or test_name == 'unique_knack_id') }}
{%- endmacro %}
