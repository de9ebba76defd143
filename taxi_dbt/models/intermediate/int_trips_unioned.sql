{#- Yellow and green trips in one shape, tagged with their service type. A view: the month's
    filter of the model that reads it reaches each staging table's file_month index.
    `staging_row` is the row's place in its staging table (ctid): int_trips breaks exact ties
    between a trip's rows with it. -#}
{%- set columns = [
    'vendor_id', 'rate_code_id', 'pickup_location_id', 'dropoff_location_id',
    'pickup_datetime', 'dropoff_datetime', 'store_and_fwd_flag', 'passenger_count',
    'trip_distance', 'trip_type', 'fare_amount', 'extra', 'mta_tax', 'tip_amount',
    'tolls_amount', 'ehail_fee', 'improvement_surcharge', 'total_amount',
    'congestion_surcharge', 'payment_type', 'file_month'] -%}

select {{ columns | join(', ') }}, 'Green' as service_type, ctid as staging_row
from {{ ref('stg_green_tripdata') }}

union all

select {{ columns | join(', ') }}, 'Yellow' as service_type, ctid as staging_row
from {{ ref('stg_yellow_tripdata') }}
