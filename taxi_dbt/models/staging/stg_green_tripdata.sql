{#- Green trips of the month being built, typed and renamed as in the course
    (macros/staging.sql); rows without a vendor are dropped, as the course does. -#}
{%- do ref('dim_zones') -%}  {#- an input: a month's staging waits for the zones (schema.yml) -#}
{%- set trips = month_source('warehouse', 'green_taxi') -%}
{%- set types = column_types(trips.typed_by) -%}

select
    {{ staged_trip_columns(
        types, 'lpep',
        trip_type=safe_cast('trip_type', 'integer', types),
        ehail_fee=safe_cast('ehail_fee', 'numeric', types)) }}
from {{ trips['from'] }}
where "VendorID" is not null
