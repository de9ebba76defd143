{#- For-hire vehicle trips of the month being built, renamed to the course's snake_case; rows
    with an empty dispatching base are dropped (the course's FHV staging filter). -#}
{%- do ref('dim_zones') -%}  {#- an input: a month's staging waits for the zones (schema.yml) -#}
{%- set trips = month_source('warehouse', 'fhv_taxi') -%}
{%- set types = column_types(trips.typed_by) -%}

select
    trim("dispatching_base_num") as dispatching_base_num,
    {{ safe_cast('pickup_datetime', 'timestamp', types) }} as pickup_datetime,
    {{ safe_cast('dropOff_datetime', 'timestamp', types) }} as dropoff_datetime,
    {{ safe_cast('PUlocationID', 'integer', types) }} as pickup_location_id,
    {{ safe_cast('DOlocationID', 'integer', types) }} as dropoff_location_id,
    {{ safe_cast('SR_Flag', 'integer', types) }} as sr_flag,
    nullif(trim("Affiliated_base_number"), '') as affiliated_base_number,
    file_month
from {{ trips['from'] }}
where nullif(trim("dispatching_base_num"), '') is not null
