{#- Yellow trips of the month being built, typed and renamed as in the course
    (macros/staging.sql); rows without a vendor (the anonymous tail of the 2020+ files) are
    dropped, as the course does. Yellow cabs are street-hail only (trip_type 1) and charge no
    e-hail fee. -#}
{%- do ref('dim_zones') -%}  {#- an input: a month's staging waits for the zones (schema.yml) -#}
{%- set trips = month_source('warehouse', 'yellow_taxi') -%}

select
    {{ staged_trip_columns(column_types(trips.typed_by), 'tpep', trip_type='1', ehail_fee='cast(0 as numeric)') }}
from {{ trips['from'] }}
where "VendorID" is not null
