-- Every landed row as text, with the file it came from (files arrive in name order).
select *
from read_csv(
    '{{ var("landing") }}/tallies_*.csv',
    header = true, filename = true, all_varchar = true
)
