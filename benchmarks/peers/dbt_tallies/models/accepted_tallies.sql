-- The tallies that pass every error rule, ballot totals filled from their parts when missing.
select
    source_id, {{ codes() }}, without_list,
    registered, valid_votes, null_votes, blank_votes,
    coalesce(total_votes, votes_cast) as total_votes,
    {{ var('candidates') | join(', ') }}
from {{ ref('judged_tallies') }}
where not quarantined
