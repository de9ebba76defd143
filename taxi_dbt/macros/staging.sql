{#- The columns yellow and green staging share, typed and renamed as in the course. `prefix` is
    the timestamps' prefix (tpep for yellow, lpep for green); `trip_type` and `ehail_fee` are
    SQL for the columns only green has. -#}
{% macro staged_trip_columns(types, prefix, trip_type, ehail_fee) -%}
    -- identifiers
    {{ safe_cast('VendorID', 'integer', types) }} as vendor_id,
    {{ safe_cast('RatecodeID', 'integer', types) }} as rate_code_id,
    {{ safe_cast('PULocationID', 'integer', types) }} as pickup_location_id,
    {{ safe_cast('DOLocationID', 'integer', types) }} as dropoff_location_id,

    -- timestamps
    {{ safe_cast(prefix ~ '_pickup_datetime', 'timestamp', types) }} as pickup_datetime,
    {{ safe_cast(prefix ~ '_dropoff_datetime', 'timestamp', types) }} as dropoff_datetime,

    -- trip info
    "store_and_fwd_flag" as store_and_fwd_flag,
    {{ safe_cast('passenger_count', 'integer', types) }} as passenger_count,
    {{ safe_cast('trip_distance', 'numeric', types) }} as trip_distance,
    {{ trip_type }} as trip_type,

    -- payment info
    {{ safe_cast('fare_amount', 'numeric', types) }} as fare_amount,
    {{ safe_cast('extra', 'numeric', types) }} as extra,
    {{ safe_cast('mta_tax', 'numeric', types) }} as mta_tax,
    {{ safe_cast('tip_amount', 'numeric', types) }} as tip_amount,
    {{ safe_cast('tolls_amount', 'numeric', types) }} as tolls_amount,
    {{ ehail_fee }} as ehail_fee,
    {{ safe_cast('improvement_surcharge', 'numeric', types) }} as improvement_surcharge,
    {{ safe_cast('total_amount', 'numeric', types) }} as total_amount,
    {{ safe_cast('congestion_surcharge', 'numeric', types) }} as congestion_surcharge,
    {{ safe_cast('payment_type', 'integer', types) }} as payment_type,

    file_month
{%- endmacro %}
