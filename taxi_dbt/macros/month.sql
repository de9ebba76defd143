{#- The file month being built: Dagster passes its partition key as the var `month` ("YYYY-MM").
    Every month-grained model and test reads and replaces that month only. -#}

{% macro taxi_month() -%}
  {%- set month = var('month', none) -%}
  {%- if month is none or month | string | trim == '' -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set month = month | string | trim -%}
  {%- if not modules.re.fullmatch('[0-9]{4}-(0[1-9]|1[0-2])', month) -%}
    {{ exceptions.raise_compiler_error("var month=" ~ month ~ " is not a month of the form YYYY-MM") }}
  {%- endif -%}
  {{ return(month) }}
{%- endmacro %}


{#- `file_month = '2021-03-01'::date` for the month being built, `true` for a full build. -#}
{% macro month_filter(column='file_month') -%}
  {%- set month = taxi_month() -%}
  {%- if month is none -%}true{%- else -%}{{ column }} = '{{ month }}-01'::date{%- endif -%}
{%- endmacro %}


{#- The month's child table of a warehouse source (yellow_taxi_2021_03), so the query touches
    that table only: reading the partitioned parent would lock it and make every other month's
    swap wait behind dbt. With no month set, the parent (every month). Fails clearly when the
    warehouse lacks the month. -#}
{% macro month_source(source_name, table_name) -%}
  {%- set parent = source(source_name, table_name) -%}
  {%- set month = taxi_month() -%}
  {%- if month is none or not execute -%}
    {{ return(parent) }}
  {%- endif -%}
  {%- set child = parent.incorporate(path={"identifier": table_name ~ "_" ~ month | replace("-", "_")}) -%}
  {%- if adapter.get_relation(database=child.database, schema=child.schema, identifier=child.identifier) is none -%}
    {{ exceptions.raise_compiler_error(
        "the warehouse has no " ~ table_name ~ " rows for " ~ month ~ " (table " ~ child.schema ~ "."
        ~ child.identifier ~ " is missing): materialize " ~ table_name ~ " for " ~ month ~ " first") }}
  {%- endif -%}
  {{ return(child) }}
{%- endmacro %}


{#- Generic tests configured with where: "__file_month__" (dbt_project.yml) test the month being
    built only; any other `where` works as in dbt. -#}
{% macro get_where_subquery(relation) -%}
  {%- set where = config.get('where') -%}
  {%- if where == '__file_month__' -%}
    {%- set where = none if taxi_month() is none else month_filter() -%}
  {%- endif -%}
  {%- if where -%}
    {%- set filtered -%}
      (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- endset -%}
    {{ return(filtered) }}
  {%- endif -%}
  {{ return(relation) }}
{%- endmacro %}


{#- incremental_strategy='month_replace': delete the month being built, insert it again, in the
    model's one transaction (readers see the old month or the new one). Unlike delete+insert on
    a unique key, a month that now has no rows is emptied too. With no month set, every row is
    replaced. -#}
{% macro get_incremental_month_replace_sql(arg_dict) -%}
  {%- set target = arg_dict["target_relation"] -%}
  {%- set columns = get_quoted_csv(arg_dict["dest_columns"] | map(attribute="name")) -%}
  delete from {{ target }} where {{ month_filter() }};
  insert into {{ target }} ({{ columns }})
  select {{ columns }} from {{ arg_dict["temp_relation"] }}
{%- endmacro %}
