{#- Revenue per pickup zone, pickup month (revenue_month, the course's meaning) and service
    type, for the trips of the file month being built. A file's few trips picked up in another
    month add rows for that revenue_month; sum over file months to answer per revenue_month. -#}
select
    trips.file_month,
    coalesce(trips.pickup_zone, 'Unknown Zone') as pickup_zone,
    cast(date_trunc('month', trips.pickup_datetime) as date) as revenue_month,
    trips.service_type,

    sum(trips.fare_amount) as revenue_monthly_fare,
    sum(trips.extra) as revenue_monthly_extra,
    sum(trips.mta_tax) as revenue_monthly_mta_tax,
    sum(trips.tip_amount) as revenue_monthly_tip_amount,
    sum(trips.tolls_amount) as revenue_monthly_tolls_amount,
    sum(trips.ehail_fee) as revenue_monthly_ehail_fee,
    sum(trips.improvement_surcharge) as revenue_monthly_improvement_surcharge,
    sum(trips.total_amount) as revenue_monthly_total_amount,
    sum(trips.congestion_surcharge) as revenue_monthly_congestion_surcharge,

    count(trips.trip_id) as total_monthly_trips,
    avg(trips.passenger_count) as avg_monthly_passenger_count,
    avg(trips.trip_distance) as avg_monthly_trip_distance
from {{ ref('fct_trips') }} as trips
where {{ month_filter('trips.file_month') }}
group by 1, 2, 3, 4
