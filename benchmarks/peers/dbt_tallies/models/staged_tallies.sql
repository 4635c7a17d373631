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
), sieved as (
    -- Bad cells are rare: one regular expression over a row's counts, one over its codes (in
    -- ASCII: DuckDB's \p{L} classes cost 150 times more), and the cell by cell rules below only
    -- for the rows they do not clear (a missing cell is an empty part, a separator inside a cell
    -- one part too many: neither is cleared; a code in another script goes the long way).
    select
        *,
        coalesce(regexp_full_match(
            concat_ws(chr(31), {% for c in counts() %}coalesce({{ c }}_text, ''){{ ", " if not loop.last }}{% endfor %}),
            '[0-9]+(\x1f[0-9]+){{ "{" ~ (counts() | length - 1) ~ "}" }}'
        ), false) as clean_counts,
        coalesce(regexp_full_match(
            concat_ws(chr(31), {% for c in codes().split(',') %}coalesce({{ c }}, ''){{ ", " if not loop.last }}{% endfor %}),
            '{{ code_pattern(ascii=true) }}(\x1f{{ code_pattern(ascii=true) }}){4}'
        ), false) as clean_codes
    from texts
), flagged as (
    select
        *,
        case when clean_counts and clean_codes then
            {% for c in counts() %}try_cast({{ c }}_text as bigint) is null{{ ' or ' if not loop.last }}{% endfor %}
        else
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
            or not regexp_full_match({{ c }}, '{{ code_pattern() }}')
            {{ "or" if not loop.last }}
            {% endfor %}
        ) end as e8,
        -- E1: a count negative or not whole
        not clean_counts and (
            {% for c in counts() %}
            (regexp_full_match({{ c }}_text, '-?[0-9]+(\.[0-9]+)?')
             and not regexp_full_match({{ c }}_text, '[0-9]+'))
            {{ "or" if not loop.last }}
            {% endfor %}
        ) as e1
    from sieved
), typed as (
    select
        filename, row_id, {{ codes() }}, e1, e8,
        registered_text = '0' as without_list,  -- the contract's absent_when = 0
        {% for c in counts() %}
        {% if c == 'registered' %}
        case when registered_text <> '0' then
            case when clean_counts then try_cast(registered_text as bigint)
                 else {{ whole('registered_text') }} end
        end as registered,
        {% else %}
        case when clean_counts then try_cast({{ c }}_text as bigint)
             else {{ whole(c ~ '_text') }} end as {{ c }},
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
