{# g = grouping(state, municipality, parish, centre, table): 0 table ... 15 state, 31 national #}
{% macro level_of(g) -%}
    case {{ g }} when 0 then 'table' when 1 then 'centre' when 3 then 'parish'
        when 7 then 'municipality' when 15 then 'state' else 'national' end
{%- endmacro %}

{% macro unit_of(g) -%}
    case {{ g }} when 0 then table_code when 1 then centre_code when 3 then parish_code
        when 7 then municipality_code when 15 then state_code else 'national' end
{%- endmacro %}

{% macro parent_of(g) -%}
    case {{ g }} when 0 then centre_code when 1 then parish_code when 3 then municipality_code
        when 7 then state_code when 15 then 'national' end
{%- endmacro %}

{% macro codes() -%}
    state_code, municipality_code, parish_code, centre_code, table_code
{%- endmacro %}

{% macro counts() -%}
    {{ return(['registered', 'valid_votes', 'null_votes', 'blank_votes', 'total_votes']
              + var('candidates')) }}
{%- endmacro %}

{# a count cell as a whole number, or null when it is not a plain one (no sign, no decimals) #}
{% macro whole(column) -%}
    case when regexp_full_match({{ column }}, '[0-9]+') then try_cast({{ column }} as bigint) end
{%- endmacro %}

{# a configuration value as a SQL string literal #}
{% macro quoted(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}

{# a code: the project's default code pattern (transforms/model.py), without its anchors;
   ascii: its ASCII form, the fast sieve (a code it refuses is judged with the full one) #}
{% macro code_pattern(ascii=false) -%}
    {%- if ascii -%}
    [0-9A-Za-z][0-9A-Za-z ._/-]{0,63}
    {%- else -%}
    [\p{L}\p{N}][\p{L}\p{N} ._/-]{0,63}
    {%- endif -%}
{%- endmacro %}
