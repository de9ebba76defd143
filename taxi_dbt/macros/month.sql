{#- The file months being built. Dagster passes its partition keys in the environment variable
    TAXI_DBT_MONTHS ("2021-01,2021-02"), read only while dbt executes, so dbt's partial parse
    stays valid from one month to the next (a changed --vars makes dbt parse the whole project
    again). By hand, `--vars '{month: 2021-03}'` (or a list) names them. Neither: every month
    (a full build). Every month-grained model and test reads and replaces these months only. -#}

{% macro taxi_months() -%}
  {%- set given = var('month', none) -%}
  {%- set from_env = env_var('TAXI_DBT_MONTHS', '') if execute else '' -%}
  {%- if given is not none and given | string | trim != '' and from_env | trim != '' -%}
    {{ exceptions.raise_compiler_error("both the var month and TAXI_DBT_MONTHS are set: name the months once") }}
  {%- endif -%}
  {%- if given is none or given | string | trim == '' -%}
    {%- set given = from_env -%}
  {%- endif -%}
  {%- if given is string -%}
    {%- set given = given.split(',') -%}
  {%- elif given is number -%}
    {%- set given = [given] -%}
  {%- endif -%}
  {%- set months = [] -%}
  {%- for month in given -%}
    {%- set month = month | string | trim -%}
    {%- if month != '' -%}
      {%- if not modules.re.fullmatch('[0-9]{4}-(0[1-9]|1[0-2])', month) -%}
        {{ exceptions.raise_compiler_error("month " ~ month ~ " is not a month of the form YYYY-MM") }}
      {%- endif -%}
      {%- if month not in months -%}{%- do months.append(month) -%}{%- endif -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if months | length == 0 -%}
    {{ return(none) }}
  {%- endif -%}
  {%- if flags.FULL_REFRESH -%}
    {{ exceptions.raise_compiler_error(
        "--full-refresh rebuilds every month from scratch and cannot be limited to "
        ~ months | join(', ') ~ ": build the month without --full-refresh (it replaces that "
        ~ "month's rows exactly), or run --full-refresh without naming a month") }}
  {%- endif -%}
  {{ return(months | sort) }}
{%- endmacro %}


{#- `'2021-03-01'::date, ...` for the months being built. -#}
{% macro month_dates(months) -%}
  {%- for month in months -%}'{{ month }}-01'::date{%- if not loop.last %}, {% endif -%}{%- endfor -%}
{%- endmacro %}


{#- `file_month in ('2021-03-01'::date)` for the months being built, `true` for a full build. -#}
{% macro month_filter(column='file_month') -%}
  {%- set months = taxi_months() -%}
  {%- if months is none -%}true{%- else -%}{{ column }} in ({{ month_dates(months) }}){%- endif -%}
{%- endmacro %}


{#- What a month-grained model reads of a warehouse source: the months' child tables
    (yellow_taxi_2021_03), never the partitioned parent. A query on the parent locks it, and a
    load's swap of any other month (DETACH, DROP) would wait behind dbt. Several months are a
    UNION ALL of their children (each child's CHECK on file_month lets Postgres skip the others
    when one month is asked for). With no month set, the parent (every month). Fails clearly when
    the warehouse lacks a month. Returns {'from': SQL for the FROM clause, 'typed_by': a relation
    whose column types the model reads}. -#}
{% macro month_source(source_name, table_name) -%}
  {%- set parent = source(source_name, table_name) -%}
  {%- set months = taxi_months() -%}
  {%- if months is none or not execute -%}
    {{ return({'from': parent, 'typed_by': parent}) }}
  {%- endif -%}
  {%- set children = [] -%}
  {%- for month in months -%}
    {%- set child = month_child(parent, month) -%}
    {%- if adapter.get_relation(database=child.database, schema=child.schema, identifier=child.identifier) is none -%}
      {{ exceptions.raise_compiler_error(
          "the warehouse has no " ~ table_name ~ " rows for " ~ month ~ " (table " ~ child.schema ~ "."
          ~ child.identifier ~ " is missing): materialize " ~ table_name ~ " for " ~ month ~ " first") }}
    {%- endif -%}
    {%- do children.append(child) -%}
  {%- endfor -%}
  {%- if children | length == 1 -%}
    {{ return({'from': children[0], 'typed_by': children[0]}) }}
  {%- endif -%}
  {%- set union -%}
    (
    {%- for child in children %}
      select * from {{ child }}{% if not loop.last %} union all{% endif %}
    {%- endfor %}
    ) as {{ adapter.quote(table_name ~ '_months') }}
  {%- endset -%}
  {{ return({'from': union, 'typed_by': children[0]}) }}
{%- endmacro %}


{#- Generic tests configured with where: "__file_month__" (dbt_project.yml) test the months being
    built only; any other `where` works as in dbt. On a month_partitioned model a test reads the
    months' child tables themselves: a `file_month` filter, the model's last column, would make
    Postgres unpack every column of every row before the test's own condition, which made the
    tests of a range of months two to three times slower than the same tests over every month.
    Elsewhere (a view) the months are a filter. -#}
{% macro get_where_subquery(relation) -%}
  {%- set where = config.get('where') -%}
  {%- if where == '__file_month__' -%}
    {%- set months = taxi_months() -%}
    {%- if months is none -%}
      {{ return(relation) }}
    {%- endif -%}
    {%- set children = month_children(relation, months) -%}
    {%- if children -%}
      {%- set union -%}
        ({% for child in children %}select * from {{ child }}{% if not loop.last %} union all {% endif %}{% endfor %}) dbt_subquery
      {%- endset -%}
      {{ return(union) }}
    {%- endif -%}
    {%- set where = month_filter() -%}
  {%- endif -%}
  {%- if where -%}
    {%- set filtered -%}
      (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- endset -%}
    {{ return(filtered) }}
  {%- endif -%}
  {{ return(relation) }}
{%- endmacro %}


{#- The child tables of `months` when `relation` is the month_partitioned model the test is
    attached to (its children `<model>_YYYY_MM` exist once the model built those months), else
    none. Read from the manifest: no query. -#}
{% macro month_children(relation, months) -%}
  {%- set attached = graph.nodes.get(model.attached_node or '') if execute else none -%}
  {%- if attached is none or attached.config.materialized != 'month_partitioned'
        or (attached.alias or attached.name) != relation.identifier -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set children = [] -%}
  {%- for month in months -%}
    {%- do children.append(month_child(relation, month)) -%}
  {%- endfor -%}
  {{ return(children) }}
{%- endmacro %}


{#- A month's child table of a partitioned relation: `<relation>_YYYY_MM` (the loads' tables and
    month_partitioned models alike). -#}
{% macro month_child(relation, month) -%}
  {{ return(relation.incorporate(path={"identifier": relation.identifier ~ "_" ~ month | replace("-", "_")})) }}
{%- endmacro %}
