{#- The TLC zones, renamed as in the course ('Boro Zone' is the course's 'Green Zone'). A table,
    so reloading taxi_zones never meets a view that depends on it. -#}
select
    cast("LocationID" as integer) as location_id,
    "Borough" as borough,
    "Zone" as zone,
    replace("service_zone", 'Boro', 'Green') as service_zone
from {{ source('warehouse', 'taxi_zones') }}
