{#- The comparisons int_trips keeps one row per trip with, exact where NULLs meet (row_number()
    groups NULL keys together and sorts NULLs last; plain = and < would answer unknown).
    Each takes {column: placeholder}: the placeholder is a value of the column's type that
    stands in for NULL, none for a column that is never NULL. -#}

{#- `a` and `b` hold the same value in every column. A NULL-able column is compared twice: a
    hashable equality with NULL read as the placeholder (Postgres hashes the month's rows on
    it), then IS NOT DISTINCT FROM, which keeps a NULL apart from a real placeholder value. -#}
{% macro same_values(a, b, columns) -%}
  {%- for column, placeholder in columns.items() -%}
    {%- if placeholder is none -%}
      {{ a }}.{{ column }} = {{ b }}.{{ column }}
    {%- else -%}
      coalesce({{ a }}.{{ column }}, {{ placeholder }}) = coalesce({{ b }}.{{ column }}, {{ placeholder }})
      and {{ a }}.{{ column }} is not distinct from {{ b }}.{{ column }}
    {%- endif -%}
    {%- if not loop.last %}
      and {% endif -%}
  {%- endfor -%}
{%- endmacro %}


{#- `a` comes before `b` in ORDER BY the columns, ascending, NULLs last: one row comparison in
    which each NULL-able column is (is null, value or placeholder). -#}
{% macro sorts_before(a, b, columns) -%}
  ({{ sort_key(a, columns) }}) < ({{ sort_key(b, columns) }})
{%- endmacro %}


{#- One side of sorts_before's row comparison. -#}
{% macro sort_key(side, columns) -%}
  {%- set parts = [] -%}
  {%- for column, placeholder in columns.items() -%}
    {%- if placeholder is not none -%}
      {%- do parts.append(side ~ '.' ~ column ~ ' is null') -%}
      {%- do parts.append('coalesce(' ~ side ~ '.' ~ column ~ ', ' ~ placeholder ~ ')') -%}
    {%- else -%}
      {%- do parts.append(side ~ '.' ~ column) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ parts | join(', ') }}
{%- endmacro %}
