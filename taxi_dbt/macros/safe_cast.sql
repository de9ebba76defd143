{#- cast(value as type), NULL instead of an error where a text value does not parse.
    `source_types` (from column_types()) lets a column that is already typed skip the text
    test, so typed warehouse columns cost a plain cast. -#}
{% macro safe_cast(column, type, source_types={}) -%}
  {%- set quoted = adapter.quote(column) -%}
  {%- set found = source_types.get(column) -%}
  {%- if found is not none and found not in ('text', 'character varying', 'character') -%}
    cast({{ quoted }} as {{ type }})
  {%- else -%}
    {%- set pattern = {
        'integer': '^\\s*[+-]?[0-9]+\\s*$',
        'smallint': '^\\s*[+-]?[0-9]+\\s*$',
        'bigint': '^\\s*[+-]?[0-9]+\\s*$',
        'numeric': '^\\s*[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?\\s*$',
        'timestamp': '^\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?\\s*$',
    }.get(type) -%}
    {%- if pattern is none -%}
      cast({{ quoted }} as {{ type }})
    {%- else -%}
      case when cast({{ quoted }} as text) ~ '{{ pattern }}' then cast(cast({{ quoted }} as text) as {{ type }}) end
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}


{#- {column name: postgres data type} of a relation, for safe_cast; empty while parsing. -#}
{% macro column_types(relation) -%}
  {%- set types = {} -%}
  {%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
      {%- do types.update({column.name: column.dtype | lower}) -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return(types) }}
{%- endmacro %}
