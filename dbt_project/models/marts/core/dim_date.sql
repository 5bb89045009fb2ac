-- One row per calendar day from var('calendar_start') to var('calendar_end'): the days,
-- weeks, months and quarters that reports group by.
with

days as (

    select day::date as date_day
    from generate_series(
        '{{ var("calendar_start") }}'::date,
        '{{ var("calendar_end") }}'::date,
        interval '1 day'
    ) as day

)

select
    date_day,
    extract(isoyear from date_day)::integer as iso_year,
    extract(week from date_day)::integer as iso_week,
    date_trunc('week', date_day)::date as week_start,
    extract(year from date_day)::integer as year,
    extract(quarter from date_day)::integer as quarter,
    date_trunc('quarter', date_day)::date as quarter_start,
    extract(month from date_day)::integer as month,
    date_trunc('month', date_day)::date as month_start,
    (date_trunc('month', date_day) + interval '1 month - 1 day')::date as month_end,
    to_char(date_day, 'YYYY-MM') as year_month,
    to_char(date_day, 'FMMonth') as month_name,
    extract(day from date_day)::integer as day_of_month,
    extract(isodow from date_day)::integer as day_of_week,
    to_char(date_day, 'FMDay') as day_name,
    extract(isodow from date_day) in (6, 7) as is_weekend
from days
