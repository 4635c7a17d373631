-- The election's candidates, from the configuration (dbt vars).
{% for c in var('candidate_names') %}
select {{ quoted(c[0]) }} as candidate_id, {{ quoted(c[1]) }} as candidate_name
{{ "union all" if not loop.last }}
{% endfor %}
