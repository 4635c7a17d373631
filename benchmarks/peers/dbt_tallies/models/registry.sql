-- One row per table of the registry: codes and names at every level, registered voters.
select
    trim(state_code) as state_code, state_name,
    trim(municipality_code) as municipality_code, municipality_name,
    trim(parish_code) as parish_code, parish_name,
    trim(centre_code) as centre_code, centre_name,
    trim(table_code) as table_code, table_name,
    {{ whole('trim(registered)') }} as registry_registered
from read_csv('{{ var("landing") }}/registry.csv', header = true, all_varchar = true)
qualify row_number() over (partition by trim(table_code)) = 1
