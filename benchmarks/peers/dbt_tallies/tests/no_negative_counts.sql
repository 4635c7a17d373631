-- Fails on any negative count in the published marts (rule E1 must have kept them out).
select 'turnout' as mart, level, unit_code
from {{ ref('turnout') }}
where least(registered, valid_votes, null_votes, blank_votes, total_votes) < 0
union all
select 'results', level, unit_code
from {{ ref('results') }}
where votes < 0
