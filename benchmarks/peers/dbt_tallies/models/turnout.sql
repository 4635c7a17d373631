select
    source_id, level, unit_code, u.unit_name, parent_code,
    registered, valid_votes, null_votes, blank_votes, total_votes,
    case when registered > 0 then total_votes / registered end as turnout
from {{ ref('rolled') }}
left join {{ ref('units') }} u using (level, unit_code)
