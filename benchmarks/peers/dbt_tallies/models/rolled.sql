-- The accepted tallies rolled up every level in one pass, wide (a column per candidate).
select
    source_id, {{ level_of('g') }} as level, {{ unit_of('g') }} as unit_code,
    {{ parent_of('g') }} as parent_code,
    received, registered, valid_votes, null_votes, blank_votes, total_votes,
    {{ var('candidates') | join(', ') }}
from (
    select
        grouping({{ codes() }}) as g, source_id, {{ codes() }},
        count(*) as received,
        -- a sum over an unknown value is unknown, not a partial sum
        {% for c in ['registered', 'valid_votes', 'null_votes', 'blank_votes', 'total_votes'] %}
        case when count({{ c }}) = count(*) then sum({{ c }}) end::bigint as {{ c }},
        {% endfor %}
        {% for c in var('candidates') %}
        sum({{ c }})::bigint as {{ c }}{{ "," if not loop.last }}
        {% endfor %}
    from {{ ref('accepted_tallies') }}
    group by source_id, rollup ({{ codes() }})
)
