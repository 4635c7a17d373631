-- Votes, share and rank per candidate and unit: share and rank computed on the wide rows, then
-- one unpivot of the three.
{%- set cands = var('candidates') %}
with wide as (
    select
        r.source_id, r.level, r.unit_code, u.unit_name, r.parent_code,
        {% for c in cands %}
        r.{{ c }} as v_{{ c }},
        case when total > 0 then r.{{ c }} / total end as s_{{ c }},
        (1 {% for o in cands if o != c %}+ (r.{{ o }} > r.{{ c }})::integer {% endfor %})::integer
            as r_{{ c }}{{ "," if not loop.last }}
        {% endfor %}
    from (select *, {% for c in cands %}coalesce({{ c }}, 0){{ " + " if not loop.last }}{% endfor %} as total
          from {{ ref('rolled') }}) r
    left join {{ ref('units') }} u using (level, unit_code)
), long as (
    unpivot wide
    on {% for c in cands %}(v_{{ c }}, s_{{ c }}, r_{{ c }}) as {{ c }}{{ ", " if not loop.last }}{% endfor %}
    into name candidate_id value votes, share, rank
)
select
    source_id, level, unit_code, unit_name, parent_code, candidate_id, c.candidate_name,
    votes, share, rank
from long
join {{ ref('candidates') }} c using (candidate_id)
