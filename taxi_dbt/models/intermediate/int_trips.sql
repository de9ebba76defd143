{#- Unioned trips with a surrogate trip_id, one row per vendor, pickup time, pickup zone and
    service type within a file month (the month is the unit that is replaced, so duplicates are
    reduced inside it): the row that comes first by dropoff_datetime, total_amount and
    dropoff_location_id (nulls last), as the course's row_number() keeps, exact copies by their
    staging row. And the payment type's description from the seed.

    Written as "no earlier row of the same trip exists" rather than row_number() = 1: the
    window sorts every row of the month and numbers them in one process, while this anti-join
    hashes the month's trips and runs in parallel, in every worker the query gets (about 40% of
    fct_trips' build at full size). -#}
select
    {{ surrogate_key(['trips.vendor_id', 'trips.pickup_datetime',
                      'trips.pickup_location_id', 'trips.service_type']) }} as trip_id,
    trips.vendor_id,
    trips.service_type,
    trips.rate_code_id,
    trips.pickup_location_id,
    trips.dropoff_location_id,
    trips.pickup_datetime,
    trips.dropoff_datetime,
    trips.store_and_fwd_flag,
    trips.passenger_count,
    trips.trip_distance,
    trips.trip_type,
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
    coalesce(payment_types.description, 'Unknown') as payment_type_description,
    trips.file_month
from {{ ref('int_trips_unioned') }} as trips
left join {{ ref('payment_type_lookup') }} as payment_types
    on payment_types.payment_type = trips.payment_type
where not exists (
    select from {{ ref('int_trips_unioned') }} as earlier
    where {{ same_values('earlier', 'trips', {
              'file_month': none, 'service_type': none, 'vendor_id': none,
              'pickup_datetime': "'-infinity'::timestamp", 'pickup_location_id': '-1'}) }}
      and {{ sorts_before('earlier', 'trips', {
              'dropoff_datetime': "'-infinity'::timestamp", 'total_amount': '0',
              'dropoff_location_id': '0', 'staging_row': none}) }}
)
