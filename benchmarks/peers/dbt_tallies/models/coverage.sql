-- Expected, received (a current tally, accepted or quarantined) and counted (accepted) tallies
-- of every unit of the registry, and of any unit that received a tally.
with received as (
    select
        source_id,
        {{ level_of('grouping(' ~ codes() ~ ')') }} as level,
        {{ unit_of('grouping(' ~ codes() ~ ')') }} as unit_code,
        count(*) as received, sum(counted) as counted
    from (
        select source_id, {{ codes() }},
            max(case when quarantined then 0 else 1 end) as counted
        from {{ ref('judged_tallies') }}
        where table_code is not null
        group by source_id, {{ codes() }}
    ) per_unit
    group by source_id, rollup ({{ codes() }})
), joined as (
    select
        source_id, level, unit_code,
        coalesce(u.unit_name, unit_code) as unit_name,  -- a unit unknown to the registry
        u.expected,
        coalesce(r.received, 0) as received, coalesce(r.counted, 0)::bigint as counted
    from ((select distinct {{ quoted(var('source_id')) }} as source_id) cross join {{ ref('units') }} u)
    full join received r using (source_id, level, unit_code)
)
select
    source_id, level, unit_code, unit_name, expected, received, counted,
    case when expected > 0 then counted * 100.0::double / expected end as percent_reporting
from joined
