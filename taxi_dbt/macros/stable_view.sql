{#- A view replaced in place (CREATE OR REPLACE VIEW), never dropped: dbt's own view
    materialization renames the old view away and drops it with CASCADE, which silently drops
    the views built on it (int_trips on int_trips_unioned) until they are rebuilt, and leaves a
    moment with no view at all. A change of a view's columns that Postgres cannot apply in place
    fails clearly; `--full-refresh` drops and recreates the view then. -#}
{% materialization stable_view, adapter='postgres' %}
  {%- set target_relation = this.incorporate(type='view') -%}
  {%- set existing_relation = load_cached_relation(this) -%}
  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {%- if existing_relation is not none and (should_full_refresh() or not existing_relation.is_view) -%}
    {{ drop_relation_if_exists(existing_relation) }}
  {%- endif -%}
  {% call statement('main') -%}
    create or replace view {{ target_relation }} as (
      {{ sql }}
    )
  {%- endcall %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do persist_docs(target_relation, model) %}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
