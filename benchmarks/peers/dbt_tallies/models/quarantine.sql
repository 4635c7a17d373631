-- The quarantined tallies and the rules each breaks.
select
    source_id, filename, unit as tally_code,
    concat_ws(',', {% for n in range(1, 9) %}case when e{{ n }} then 'E{{ n }}' end{{ ", " if not loop.last }}{% endfor %}) as rules
from {{ ref('judged_tallies') }}
where quarantined
