{#- Unioned trips with a surrogate trip_id, one row per vendor, pickup time, pickup zone and
    service type within a file month (the month is the unit that is replaced, so duplicates are
    reduced inside it), and the payment type's description from the seed. -#}
with ranked as (
    select
        unioned.*,
        row_number() over (
            partition by file_month, vendor_id, pickup_datetime, pickup_location_id, service_type
            order by dropoff_datetime, total_amount, dropoff_location_id
        ) as duplicate_rank
    from {{ ref('int_trips_unioned') }} as unioned
)

select
    {{ surrogate_key(['ranked.vendor_id', 'ranked.pickup_datetime',
                      'ranked.pickup_location_id', 'ranked.service_type']) }} as trip_id,
    ranked.vendor_id,
    ranked.service_type,
    ranked.rate_code_id,
    ranked.pickup_location_id,
    ranked.dropoff_location_id,
    ranked.pickup_datetime,
    ranked.dropoff_datetime,
    ranked.store_and_fwd_flag,
    ranked.passenger_count,
    ranked.trip_distance,
    ranked.trip_type,
    ranked.fare_amount,
    ranked.extra,
    ranked.mta_tax,
    ranked.tip_amount,
    ranked.tolls_amount,
    ranked.ehail_fee,
    ranked.improvement_surcharge,
    ranked.total_amount,
    ranked.congestion_surcharge,
    ranked.payment_type,
    coalesce(payment_types.description, 'Unknown') as payment_type_description,
    ranked.file_month
from ranked
left join {{ ref('payment_type_lookup') }} as payment_types
    on payment_types.payment_type = ranked.payment_type
where ranked.duplicate_rank = 1
