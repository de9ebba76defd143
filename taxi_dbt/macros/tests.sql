{#- dbt_utils.unique_combination_of_columns without the package: no two rows share these
    columns. -#}
{% test unique_combination(model, columns) -%}
select {{ columns | join(', ') }}, count(*) as rows_sharing
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{%- endtest %}


{#- No value below `min_value` (nulls pass, as in dbt's own tests). -#}
{% test at_least(model, column_name, min_value) -%}
select {{ column_name }}
from {{ model }}
where {{ column_name }} < {{ min_value }}
{%- endtest %}


{#- dbt's `unique`, per file month on month-grained models: a run over a range of months tests
    each month's rows on their own, as a run of one month does (a trip the TLC put in two
    months' files is one row in each). Elsewhere exactly dbt's own test. Found before dbt's
    through the project's `dispatch` search order (dbt_project.yml). -#}
{% macro default__test_unique(model, column_name) -%}
select {{ column_name }} as unique_field, count(*) as n_records
from {{ model }}
where {{ column_name }} is not null
group by {{ column_name }}{% if config.get('where') == '__file_month__' %}, file_month{% endif %}
having count(*) > 1
{%- endmacro %}
