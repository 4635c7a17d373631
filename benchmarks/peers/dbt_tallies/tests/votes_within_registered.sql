-- Fails where the votes cast at a table exceed its registered voters (rule E2).
select level, unit_code, registered, valid_votes + null_votes + coalesce(blank_votes, 0) as cast
from {{ ref('turnout') }}
where level = 'table'
  and valid_votes + null_votes + coalesce(blank_votes, 0) > registered
