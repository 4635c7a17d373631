-- Rules E1-E8 on every current tally; a tally breaking any of them is quarantined.
with evidence as (
    select
        t.*,
        valid_votes + null_votes + coalesce(blank_votes, 0) as votes_cast,
        {{ var('candidates') | join(' + ') }} as candidate_sum,
        r.table_code is not null as registry_known,
        concat_ws('/', r.state_code, r.municipality_code, r.parish_code, r.centre_code,
                  r.table_code) as registry_path,
        case when t.state_code is not null and t.municipality_code is not null
                  and t.parish_code is not null and t.centre_code is not null
                  and t.table_code is not null
             then concat_ws('/', t.state_code, t.municipality_code, t.parish_code,
                            t.centre_code, t.table_code) end as unit_path,
        r.registry_registered
    from {{ ref('staged_tallies') }} t
    left join {{ ref('registry') }} r on r.table_code = t.table_code
), judged as (
    select
        *,
        coalesce(not without_list and votes_cast > registered, false) as e2,
        coalesce(candidate_sum <> valid_votes, false) as e3,
        coalesce(votes_cast <> total_votes, false) as e4,
        versions > 1 as e5,
        table_code is not null
            and (not registry_known or coalesce(unit_path <> registry_path, false)) as e6,
        coalesce(registered <> registry_registered, false) as e7
    from evidence
)
select *, e1 or e2 or e3 or e4 or e5 or e6 or e7 or e8 as quarantined
from judged
