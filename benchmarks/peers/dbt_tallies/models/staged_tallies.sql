-- Typed tallies, current versions only: a unit's latest file supersedes earlier ones; identical
-- copies within it collapse into one; rows that differ stay, for rule E5. A row without a
-- table code is its own unit.
with texts as (
    select
        filename,
        {% for c in ['state_code', 'municipality_code', 'parish_code', 'centre_code', 'table_code'] %}
        nullif(trim({{ c }}), '') as {{ c }},
        {% endfor %}
        {% for c in counts() %}
        trim({{ c }}) as {{ c }}_text,
        {% endfor %}
        row_number() over () as row_id
    from {{ ref('raw_tallies') }}
), flagged as (
    select
        *,
        -- E8: a required field missing or not a number (or too large); a code missing or no code
        (
            {% for c in counts() %}
            {{ c }}_text is null or {{ c }}_text = ''
            or not regexp_full_match({{ c }}_text, '-?[0-9]+(\.[0-9]+)?')
            or (regexp_full_match({{ c }}_text, '[0-9]+') and try_cast({{ c }}_text as bigint) is null)
            or
            {% endfor %}
            {% for c in ['state_code', 'municipality_code', 'parish_code', 'centre_code', 'table_code'] %}
            {{ c }} is null
            or not regexp_full_match({{ c }}, '[\p{L}\p{N}][\p{L}\p{N} ._/-]{0,63}')
            {{ "or" if not loop.last }}
            {% endfor %}
        ) as e8,
        -- E1: a count negative or not whole
        (
            {% for c in counts() %}
            (regexp_full_match({{ c }}_text, '-?[0-9]+(\.[0-9]+)?')
             and not regexp_full_match({{ c }}_text, '[0-9]+'))
            {{ "or" if not loop.last }}
            {% endfor %}
        ) as e1
    from texts
), typed as (
    select
        filename, row_id, {{ codes() }}, e1, e8,
        registered_text = '0' as without_list,  -- the contract's absent_when = 0
        {% for c in counts() %}
        {% if c == 'registered' %}
        case when registered_text <> '0' then {{ whole('registered_text') }} end as registered,
        {% else %}
        {{ whole(c ~ '_text') }} as {{ c }},
        {% endif %}
        {% endfor %}
        coalesce(table_code, '#' || row_id) as unit
    from flagged
), latest as (
    select * exclude (row_id)
    from typed
    qualify filename = max(filename) over (partition by unit)
)
select
    '{{ var("source_id") }}' as source_id,
    *,
    count(*) over (partition by unit) as versions
from (select distinct * from latest)
