-- Every unit of the registry at every level: name and the number of tallies it expects.
select
    {{ level_of('g') }} as level,
    {{ unit_of('g') }} as unit_code,
    case g when 0 then table_name when 1 then centre_name when 3 then parish_name
        when 7 then municipality_name when 15 then state_name
        else {{ quoted(var('election_name')) }} end as unit_name,
    expected
from (
    select
        grouping({{ codes() }}) as g, {{ codes() }},
        any_value(state_name) as state_name, any_value(municipality_name) as municipality_name,
        any_value(parish_name) as parish_name, any_value(centre_name) as centre_name,
        any_value(table_name) as table_name, count(*) as expected
    from {{ ref('registry') }}
    group by rollup ({{ codes() }})
)
