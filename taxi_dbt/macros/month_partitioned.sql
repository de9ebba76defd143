{#- materialized='month_partitioned': a table LIST-partitioned on file_month, one child table per
    file month (fct_trips_2021_03), built the way the loads build theirs. Each month being built
    is written into a table of its own (CHECK file_month = M, so ATTACH skips its scan), then
    every built month is swapped in by one short transaction at the end: DETACH and DROP the old
    child, RENAME the new one into its place, ATTACH it. Readers see the old months or the new
    ones, never a mix; a rebuild writes each row once and deletes nothing, so it leaves no dead
    tuples behind and costs what a first build costs.

    The months are the ones named (macros/month.sql); with none (a full build) every month the
    model's inputs hold (`input_months`), and children of months no input holds any more are
    dropped. A model whose columns changed fails clearly until it is rebuilt with --full-refresh,
    which drops and recreates the parent (CASCADE: the views built on it are rebuilt by the same
    build when it selects them). -#}

{% materialization month_partitioned, adapter='postgres' %}
  {%- set target = this.incorporate(type='table') -%}
  {%- set existing = load_cached_relation(this) -%}
  {%- set named = taxi_months() -%}
  {%- set months = named if named is not none else input_months(model) -%}
  {%- set shape = make_temp_relation(this, '__shape') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {%- call statement('shape') -%}
    create temporary table {{ shape }} on commit drop as select * from ({{ sql }}) as built where false
  {%- endcall -%}

  {%- set layout = month_partitioned_layout(existing) -%}
  {%- if existing is not none and (should_full_refresh() or layout != 'partitioned') -%}
    {%- if not should_full_refresh() -%}
      {{ exceptions.raise_compiler_error(
          this ~ " is an unpartitioned table from an earlier version of the project: rebuild it once with "
          ~ "`python -m taxi_assets.dbt_cli build --full-refresh --select " ~ this.identifier ~ "`") }}
    {%- endif -%}
    {%- call statement('drop_parent') -%}
      drop {{ 'view' if layout == 'view' else 'table' }} {{ existing }} cascade
    {%- endcall -%}
    {%- set existing = none -%}
  {%- endif -%}

  {%- if existing is none -%}
    {%- call statement('create_parent') -%}
      create table {{ target }} (like {{ shape }}) partition by list (file_month)
    {%- endcall -%}
  {%- else -%}
    {%- set had = month_partitioned_columns(target) -%}
    {%- set has = month_partitioned_columns(shape) -%}
    {%- if had != has -%}
      {{ exceptions.raise_compiler_error(
          "the columns of " ~ this ~ " changed (" ~ had | join(', ') ~ " -> " ~ has | join(', ')
          ~ "): rebuild it with `python -m taxi_assets.dbt_cli build --full-refresh --select "
          ~ this.identifier ~ "`") }}
    {%- endif -%}
  {%- endif -%}

  {%- set built = [] -%}
  {%- for month in months -%}
    {%- set suffix = month | replace('-', '_') -%}
    {%- set fresh = this.incorporate(path={"identifier": this.identifier ~ "_" ~ suffix ~ "__new"}, type='table') -%}
    {#- CREATE TABLE AS, not INSERT: Postgres plans it in parallel (both cores sort a month's
        trips), and it writes the same columns the parent was made from. The CHECK and NOT NULL
        on file_month (one scan for both) let ATTACH skip its own scan and let Postgres skip the
        whole child when a ranged test reads the months' children for `file_month is null`
        (the parent's partition pruning does the same for a full build); ANALYZE (a sample)
        gives the tests and later models real row counts. -#}
    {%- call statement('build_' ~ suffix) -%}
      drop table if exists {{ fresh }};
      create table {{ fresh }} as select * from ({{ sql }}) as built where file_month = '{{ month }}-01'::date;
      alter table {{ fresh }} add constraint {{ adapter.quote(this.identifier ~ '_' ~ suffix ~ '_month') }} check (file_month = '{{ month }}-01'::date), alter column file_month set not null;
      analyze {{ fresh }}
    {%- endcall -%}
    {%- do built.append((month, fresh)) -%}
  {%- endfor -%}

  {%- call statement('main') -%}
    {%- for month, fresh in built %}
      {%- set child = month_child(this, month).incorporate(type='table') %}
      {{ month_partitioned_detach(target, child) }}
      alter table {{ fresh }} rename to {{ adapter.quote(child.identifier) }};
      alter table {{ target }} attach partition {{ child }} for values in ('{{ month }}-01'::date);
    {%- endfor %}
    {%- if named is none %}
      {%- for stale in month_partitioned_children(target) if stale not in months %}
      {{ month_partitioned_detach(target, month_child(this, stale).incorporate(type='table')) }}
      {%- endfor %}
    {%- endif %}
    select 1
  {%- endcall -%}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do persist_docs(target, model) %}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target]}) }}
{% endmaterialization %}


{#- 'partitioned', 'table' (an unpartitioned table of an earlier version), 'view' or none. -#}
{% macro month_partitioned_layout(relation) -%}
  {%- if relation is none -%}{{ return(none) }}{%- endif -%}
  {%- set found = run_query(
      "select c.relkind::text from pg_class c join pg_namespace n on n.oid = c.relnamespace"
      ~ " where n.nspname = " ~ dbt.string_literal(relation.schema | replace("'", "''"))
      ~ " and c.relname = " ~ dbt.string_literal(relation.identifier | replace("'", "''"))) -%}
  {%- set kind = found.rows[0][0] if found.rows | length > 0 else none -%}
  {{ return({'p': 'partitioned', 'r': 'table', 'v': 'view'}.get(kind)) }}
{%- endmacro %}


{#- Column names and types of a relation, in order (the shape a month's table must have). -#}
{% macro month_partitioned_columns(relation) -%}
  {%- set columns = [] -%}
  {%- for column in adapter.get_columns_in_relation(relation) -%}
    {%- do columns.append(column.name ~ ' ' ~ column.data_type) -%}
  {%- endfor -%}
  {{ return(columns) }}
{%- endmacro %}


{#- The months ("YYYY-MM") of the children attached to a partitioned relation. -#}
{% macro month_partitioned_children(relation) -%}
  {%- set found = run_query(
      "select to_char(substring(pg_get_expr(c.relpartbound, c.oid) from '\\d{4}-\\d{2}-\\d{2}')::date, 'YYYY-MM')"
      ~ " from pg_inherits i join pg_class c on c.oid = i.inhrelid"
      ~ " where i.inhparent = to_regclass(" ~ dbt.string_literal(relation.render() | replace("'", "''")) ~ ")"
      ~ " order by 1") -%}
  {%- set months = [] -%}
  {%- for row in found.rows -%}{%- do months.append(row[0]) -%}{%- endfor -%}
  {{ return(months) }}
{%- endmacro %}


{#- DETACH and DROP a month's child if it exists and is attached. -#}
{% macro month_partitioned_detach(parent, child) -%}
  {%- if month_partitioned_layout(child) is not none -%}
    alter table {{ parent }} detach partition {{ child }};
    drop table {{ child }};
  {%- endif -%}
{%- endmacro %}


{#- Every month a model's inputs hold, for a full build: the months of the partitioned sources
    and month-partitioned models it reads, through the views between. -#}
{% macro input_months(node) -%}
  {%- set months = [] -%}
  {%- for unique_id in node.depends_on.nodes -%}
    {%- set upstream = graph.sources.get(unique_id) or graph.nodes.get(unique_id) -%}
    {%- set found = [] -%}
    {%- if upstream is none -%}
    {%- elif upstream.resource_type == 'source' or upstream.config.materialized == 'month_partitioned' -%}
      {%- set relation = adapter.get_relation(database=upstream.database, schema=upstream.schema,
                                              identifier=upstream.identifier or upstream.alias) -%}
      {%- if relation is not none -%}
        {%- set found = month_partitioned_children(relation) -%}
      {%- endif -%}
    {%- elif upstream.config.materialized in ('stable_view', 'view', 'ephemeral') -%}
      {%- set found = input_months(upstream) -%}
    {%- endif -%}
    {%- for month in found if month not in months -%}{%- do months.append(month) -%}{%- endfor -%}
  {%- endfor -%}
  {{ return(months | sort) }}
{%- endmacro %}
