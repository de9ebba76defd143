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
