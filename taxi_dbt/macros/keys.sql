{#- A surrogate key as the course's dbt_utils.generate_surrogate_key builds it: md5 of the
    fields cast to text, nulls as a fixed token, joined with '-'. -#}
{% macro surrogate_key(fields) -%}
  md5(
  {%- for field in fields %}
    coalesce(cast({{ field }} as text), '_dbt_utils_surrogate_key_null_')
    {%- if not loop.last %} || '-' || {% endif -%}
  {% endfor %}
  )
{%- endmacro %}
