{#- One row per trip of the month being built, with pickup and drop-off borough and zone and
    the trip's duration. Trips whose zone id is not in the lookup keep NULL zone fields. -#}
{#- int_trips keeps a trip's first row with an anti-join: a merge join would sort the month
    twice in every worker, where hashing it is a fraction of that (the planner, misled by its
    estimates of the NULL-safe keys, picks the merge). JIT compiles for longer than it saves on
    this query. -#}
{{ config(pre_hook=["set local enable_mergejoin = off", "set local jit = off"]) }}
select
    trips.trip_id,
    trips.vendor_id,
    trips.service_type,
    trips.rate_code_id,
    trips.pickup_location_id,
    pickup_zone.borough as pickup_borough,
    pickup_zone.zone as pickup_zone,
    trips.dropoff_location_id,
    dropoff_zone.borough as dropoff_borough,
    dropoff_zone.zone as dropoff_zone,
    trips.pickup_datetime,
    trips.dropoff_datetime,
    trips.store_and_fwd_flag,
    trips.passenger_count,
    trips.trip_distance,
    trips.trip_type,
    cast(extract(epoch from trips.dropoff_datetime - trips.pickup_datetime) / 60
         as numeric(12, 2)) as trip_duration_minutes,
    trips.fare_amount,
    trips.extra,
    trips.mta_tax,
    trips.tip_amount,
    trips.tolls_amount,
    trips.ehail_fee,
    trips.improvement_surcharge,
    trips.total_amount,
    trips.congestion_surcharge,
    trips.payment_type,
    trips.payment_type_description,
    trips.file_month
from {{ ref('int_trips') }} as trips
left join {{ ref('dim_zones') }} as pickup_zone
    on pickup_zone.location_id = trips.pickup_location_id
left join {{ ref('dim_zones') }} as dropoff_zone
    on dropoff_zone.location_id = trips.dropoff_location_id
where {{ month_filter('trips.file_month') }}
