{{ config(
    enabled=has_entities(),
    materialized='incremental',
    unique_key='knack_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    unlogged=false,
    full_refresh=false,
    indexes=[{'columns': ['knack_id'], 'unique': true}],
    post_hook='{{ load_id_index() }}',
) }}

{#- a build re-resolves every result outside the frozen years and never one it holds in them (a reconcile
    rewrites every raw row): a frozen year's results stay as they were resolved when it closed, like its fct
    partition, which a full refresh keeps too (hence full_refresh=false; reopening the year re-resolves it).
    A record new to a frozen year can't enter its partition, so it is held back as `closed_year` -#}
{%- set scores = ['w.vision', 'w.effort', 'w.systems', 'w.practice', 'w.attitude', 'w.overall'] -%}
{%- set frozen = [] -%}
{%- if is_incremental() -%}
    {%- set frozen = frozen_years(run_query('select academic_year from ' ~ this ~ ' group by 1').columns[0].values()) -%}
{%- endif %}

-- every result with its establishment, academic year and student-year, or the reason it can't be modelled;
-- deleted ones stay, marked, so that an incremental run replaces them
with typed as (
    select *, establishment_knack_ids[1] as establishment_knack_id
    from {{ ref('int_vespa_results_typed') }}
),

establishments as (
    select * from {{ ref('int_establishments_filtered') }}
),

students as (
    select email, academic_year from {{ ref('int_students_resolved') }}
),

with_year as (
    select
        t.knack_id, t.email, t.establishment_knack_id, t.cycle, t.vision, t.effort, t.systems, t.practice,
        t.attitude, t.overall, t.completed_at, t.completed_date, t.modified_at, t.first_seen_at, t.last_seen_at,
        t.is_deleted, t.load_id,
        e.knack_id as connected_knack_id,
        e.is_kept as connected_is_kept,
        -- no year for an implausible date (9999-12-31 is no academic year 9999/10000); such a result is
        -- quarantined, and re-resolved on every build as it belongs to no frozen year
        case when not {{ is_implausible_date('t.completed_date') }} then
            {{ academic_year('t.completed_date', 'e.academic_year_start') }}
        end as academic_year
    from typed as t
    left join establishments as e on e.knack_id = t.establishment_knack_id
),

-- on a daily build: the results of new loads, and those the table holds outside the frozen years (found by
-- the year the table holds, so that the year is computed for them alone, not for all 1.4 M results); never
-- one a frozen year holds live (the table's deletion flag of such a row stays as it was at closing: the
-- quarantine reads the typed table's)
to_resolve as (
    select * from with_year
    {%- if frozen %}
    where (
            knack_id in (
                select knack_id from {{ this }}
                where {{ outside_years(frozen, "coalesce(academic_year, '')") }}
            )
            or {{ newer_load() }}
        )
        and not exists (
            select from {{ this }} as held
            where held.knack_id = with_year.knack_id
                and held.academic_year in {{ literal_list(frozen) }} and not held.is_deleted
        )
    {%- endif %}
),

-- the student-years of the years being resolved only (two of six on a daily build)
student_years as (
    select distinct email, academic_year from students
    where academic_year in (select academic_year from to_resolve)
),

resolved as (
    select
        w.*,
        s.email is not null as has_student_year,
        case
            when w.email is null then 'no_email'
            when w.establishment_knack_id is null then 'no_establishment'
            when w.connected_knack_id is null then 'unknown_establishment'
            when not w.connected_is_kept then 'cancelled_establishment'
            when w.completed_date is null then 'no_completion_date'
            when {{ is_implausible_date('w.completed_date') }} then 'implausible_date'
            when w.cycle is null then 'no_cycle'
            when {{ is_out_of_scale(scores) }} then 'score_out_of_scale'
            when s.email is null then 'unknown_student'
            {%- if frozen %}
            when w.academic_year in {{ literal_list(frozen) }} then 'closed_year'
            {%- endif %}
        end as rejection_reason,
        case
            when w.email is null then 'result has no usable student email'
            when w.establishment_knack_id is null then 'result has no establishment connection'
            when w.connected_knack_id is null
                then 'connected establishment ' || w.establishment_knack_id || ' does not exist'
            when not w.connected_is_kept
                then 'connected establishment ' || w.establishment_knack_id || ' is not active'
            when w.completed_date is null then 'result has no completion date'
            when {{ is_implausible_date('w.completed_date') }}
                then {{ implausible_date_detail('completion date', 'w.completed_date') }}
            when w.cycle is null then 'result has no cycle'
            when {{ is_out_of_scale(scores) }}
                then {{ out_of_scale_detail(scores) }}
            when s.email is null
                then 'no student ' || w.email || ' in academic year ' || w.academic_year
            {%- if frozen %}
            when w.academic_year in {{ literal_list(frozen) }}
                then 'academic year ' || w.academic_year || ' is closed and its results frozen; '
                    || 'knackhouse run --reopen-year ' || w.academic_year || ' takes this result in'
            {%- endif %}
        end as rejection_detail
    from to_resolve as w
    left join student_years as s on s.email = w.email and s.academic_year = w.academic_year
)

{% if is_incremental() -%}
{%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
-- only the rows that differ from what the table holds: an open year's results are re-resolved every day, but
-- most come out unchanged (~97% at scale 10), and rewriting them left as many dead rows a day
-- (a scalar subquery, one index probe per row: as a join the planner hashes the whole table)
select r.*
from resolved as r
where coalesce((
    select ({% for c in columns %}r.{{ c }}{{ ', ' if not loop.last }}{% endfor %})
        is distinct from ({% for c in columns %}held.{{ c }}{{ ', ' if not loop.last }}{% endfor %})
    from {{ this }} as held
    where held.knack_id = r.knack_id
), true)
{%- else -%}
select * from resolved
{%- endif %}
