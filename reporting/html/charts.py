"""The report's charts: Vega-Lite specs (altair) built from small polars frames, no I/O.

Every function takes frames already binned or aggregated (see reporting/html/data.py) and
returns an altair chart whose data is inlined as values. Shares are 0–1 and shown as percentages.
"""

import textwrap

import altair as alt
import polars as pl

PALETTE = ["#1f5fa8", "#c8102e", "#e3a21a", "#2a9d8f", "#7b4fa0", "#8c6d46", "#5f7481"]
OTHERS = "Others"
OTHER_COLOUR = "#b8bec6"
WIDTH = 640
TOP_CANDIDATES = 4  # named in the by-state chart; the rest are "Others"
LABEL_WIDTH = 28  # characters per line of an axis label: about Vega's default 180 px
LABEL = "label"  # the column a chart's wrapped category labels are in


def wrapped(text: str | None, width: int = LABEL_WIDTH) -> str:
    """A label broken into lines of at most `width` characters (at spaces where it can), joined
    by newlines: LABEL_AXIS draws them as lines, so no label is cut short with an ellipsis."""
    lines = textwrap.wrap(str(text or "–"), width) or ["–"]
    return "\n".join(lines)


# An axis whose labels are LABEL's wrapped text, every line in full (no pixel limit).
LABEL_AXIS = alt.Axis(labelExpr="split(datum.label, '\\n')", labelLimit=0)


LINE_HEIGHT = 12  # pixels per line of a wrapped axis label


def step_for(frame: pl.DataFrame, least: int) -> alt.Step:
    """A band per category at least `least` pixels high, and high enough for its label's lines."""
    lines = max((str(t).count("\n") + 1 for t in frame[LABEL]), default=1)
    return alt.Step(max(least, LINE_HEIGHT * lines + 6))


LEGEND_ROW = 90  # characters of names that fit on one legend row beside their swatches


def names_legend(names: list[str]) -> alt.Legend:
    """A legend on top whose names are drawn in full: one row when they fit, else three
    columns (Vega cuts a legend label at 160 px otherwise)."""
    one_row = sum(len(str(n)) for n in names) <= LEGEND_ROW
    return alt.Legend(orient="top", title=None, labelLimit=0, columns=len(names) if one_row else 3)


def _with_label(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """The frame with LABEL: `column` wrapped for an axis."""
    return frame.with_columns(
        pl.col(column)
        .cast(pl.String)
        .fill_null("–")
        .map_elements(wrapped, return_dtype=pl.String)
        .alias(LABEL)
    )


def _data(frame: pl.DataFrame) -> alt.Data:
    decimals = [c for c, t in frame.schema.items() if isinstance(t, pl.Decimal)]
    return alt.Data(values=frame.with_columns(pl.col(decimals).cast(pl.Float64)).to_dicts())


def candidate_colours(national: pl.DataFrame) -> alt.Scale:
    """One colour per leading candidate, in national rank order, the same in every chart."""
    names = (
        national.filter(pl.col("rank").is_not_null())  # the unranked other votes are Others
        .sort("rank")["candidate_name"]
        .to_list()
    )
    named = names[:TOP_CANDIDATES]
    return alt.Scale(
        domain=[*named, OTHERS],
        range=[*PALETTE[: len(named)], OTHER_COLOUR],
    )


def national_chart(national: pl.DataFrame, title: str = "National result") -> alt.Chart:
    frame = _with_label(
        national.select(
            "candidate_name",
            "votes",
            "share",
            "rank",
            pl.col("rank").fill_null(pl.col("rank").max() + 1).alias("place"),  # unranked last
        ),
        "candidate_name",
    )
    base = alt.Chart(_data(frame)).encode(
        y=alt.Y(f"{LABEL}:N", sort=alt.SortField("place"), title=None, axis=LABEL_AXIS),
        x=alt.X("share:Q", axis=alt.Axis(format="%"), title="Share of valid votes"),
    )
    bars = base.mark_bar(color=PALETTE[0]).encode(
        color=alt.condition("datum.rank == 1", alt.value(PALETTE[0]), alt.value("#7d9cc4")),
        tooltip=[
            alt.Tooltip("candidate_name:N", title="candidate"),
            alt.Tooltip("votes:Q", format=","),
            alt.Tooltip("share:Q", format=".2%"),
        ],
    )
    labels = base.mark_text(align="left", dx=4, fontSize=11).encode(
        text=alt.Text("share:Q", format=".2%")
    )
    return (bars + labels).properties(width=WIDTH, height=step_for(frame, 22), title=title)


def _lumped(by_state: pl.DataFrame, named: list[str]) -> pl.DataFrame:
    """Votes and shares per state with candidates outside `named` summed as Others."""
    return (
        by_state.with_columns(
            pl.when(pl.col("candidate_name").is_in(named))
            .then(pl.col("candidate_name"))
            .otherwise(pl.lit(OTHERS))
            .alias("candidate")
        )
        .group_by("unit_code", "unit_name", "candidate")
        .agg(pl.col("votes").sum(), pl.col("share").sum())
    )


def states_chart(by_state: pl.DataFrame, national: pl.DataFrame, level: str) -> alt.Chart:
    """Stacked shares per unit of the level below national, units by the leader's share."""
    scale = candidate_colours(national)
    named = [n for n in scale.domain if n != OTHERS]
    frame = _lumped(by_state, named)
    leader = named[0] if named else None
    frame = _with_label(frame, "unit_name")
    order = (
        frame.filter(pl.col("candidate") == leader).sort("share", descending=True)[LABEL].to_list()
    )
    rank = {name: i for i, name in enumerate([*named, OTHERS])}
    frame = frame.with_columns(
        pl.col("candidate").replace_strict(rank, return_dtype=pl.Int64).alias("order")
    )
    return (
        alt.Chart(_data(frame))
        .mark_bar()
        .encode(
            y=alt.Y(f"{LABEL}:N", sort=order, title=None, axis=LABEL_AXIS),
            x=alt.X(
                "share:Q",
                stack="zero",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
                title="Share of valid votes",
            ),
            color=alt.Color("candidate:N", scale=scale, legend=names_legend(scale.domain)),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("unit_name:N", title=level),
                "candidate:N",
                alt.Tooltip("votes:Q", format=","),
                alt.Tooltip("share:Q", format=".2%"),
            ],
        )
        .properties(width=WIDTH, height=step_for(frame, 16), title=f"Results by {level}")
    )


def _by_unit_bars(
    frame: pl.DataFrame,
    field: str,
    title: str,
    axis_title: str,
    domain_max: float | None,
    number_format: str = "%",
) -> alt.Chart:
    scale = alt.Scale(domain=[0, domain_max]) if domain_max is not None else alt.Scale()
    tip = ".2%" if number_format == "%" else ","
    bars = _with_label(frame.select("unit_name", field).drop_nulls(), "unit_name")
    return (
        alt.Chart(_data(bars))
        .mark_bar(color=PALETTE[0])
        .encode(
            y=alt.Y(
                f"{LABEL}:N",
                sort=alt.SortField(field, order="descending"),
                title=None,
                axis=LABEL_AXIS,
            ),
            x=alt.X(
                f"{field}:Q", axis=alt.Axis(format=number_format), scale=scale, title=axis_title
            ),
            tooltip=["unit_name:N", alt.Tooltip(f"{field}:Q", format=tip)],
        )
        .properties(width=WIDTH, height=step_for(bars, 16), title=title)
    )


def coverage_chart(state_turnout: pl.DataFrame, level: str) -> alt.Chart:
    frame = state_turnout.with_columns((pl.col("percent_reporting") / 100).alias("reporting"))
    return _by_unit_bars(
        frame, "reporting", f"Tallies counted by {level}", "Share of expected tallies", 1.0
    )


def counted_chart(state_turnout: pl.DataFrame, level: str) -> alt.Chart:
    """Tallies counted per unit, where the feed does not say how many each unit expects."""
    return _by_unit_bars(
        state_turnout, "counted", f"Tallies counted by {level}", "Tallies counted", None, ",d"
    )


def turnout_chart(state_turnout: pl.DataFrame, level: str) -> alt.Chart:
    return _by_unit_bars(
        state_turnout, "turnout", f"Turnout by {level}", "Ballots cast / registered voters", None
    )


def fingerprint_chart(fingerprint: pl.DataFrame, tally_level: str) -> alt.Chart:
    """Klimek's election fingerprint: tallies per (turnout, share) cell, one panel a candidate."""
    step = 1 / 50
    frame = fingerprint.with_columns(
        (pl.col("turnout_bin") + step).alias("turnout_end"),
        (pl.col("share_bin") + step).alias("share_end"),
    )
    return (
        alt.Chart(_data(frame))
        .mark_rect()
        .encode(
            x=alt.X(
                "turnout_bin:Q",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
                title="Turnout",
            ),
            x2="turnout_end:Q",
            y=alt.Y(
                "share_bin:Q",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
                title="Candidate's share of valid votes",
            ),
            y2="share_end:Q",
            color=alt.Color(
                "tallies:Q",
                scale=alt.Scale(type="log", scheme="viridis"),
                title=f"{tally_level}s",
            ),
            tooltip=[
                alt.Tooltip("candidate_name:N", title="candidate"),
                alt.Tooltip("turnout_bin:Q", format=".0%", title="turnout from"),
                alt.Tooltip("share_bin:Q", format=".0%", title="share from"),
                alt.Tooltip("tallies:Q", format=","),
            ],
        )
        .properties(width=300, height=300)
        .facet(column=alt.Column("candidate_name:N", title=None))
        .properties(
            title=f"Turnout × vote-share fingerprint, one cell per 2 × 2 points, by {tally_level}"
        )
    )


def turnout_distribution_chart(distribution: pl.DataFrame, tally_level: str) -> alt.Chart:
    return (
        alt.Chart(_data(distribution))
        .mark_bar(color=PALETTE[0], binSpacing=0)
        .encode(
            x=alt.X(
                "turnout_bin:Q",
                bin=alt.Bin(binned=True, step=0.01),
                scale=alt.Scale(domain=[0, 1.01]),
                axis=alt.Axis(format="%", values=[i / 10 for i in range(11)]),
                title="Turnout",
            ),
            x2="turnout_end:Q",
            y=alt.Y("tallies:Q", title=f"{tally_level}s"),
            tooltip=[
                alt.Tooltip("turnout_bin:Q", format=".0%", title="turnout from"),
                alt.Tooltip("tallies:Q", format=","),
            ],
        )
        .transform_calculate(turnout_end="datum.turnout_bin + 0.01")
        .properties(width=WIDTH, height=220, title=f"Distribution of turnout over {tally_level}s")
    )


def quality_chart(by_rule: pl.DataFrame) -> alt.Chart:
    """by_rule: rule_id, severity, description, tallies."""
    return (
        alt.Chart(_data(by_rule))
        .mark_bar()
        .encode(
            y=alt.Y("rule_id:N", sort=None, title=None),
            x=alt.X("tallies:Q", title="Tallies", axis=alt.Axis(tickMinStep=1, format=",d")),
            color=alt.Color(
                "severity:N",
                scale=alt.Scale(domain=["error", "warn"], range=[PALETTE[1], PALETTE[2]]),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=["rule_id:N", "description:N", alt.Tooltip("tallies:Q", format=",")],
        )
        .properties(width=WIDTH, height=alt.Step(18), title="Quality issues by rule")
    )


# reconciliation_summary's columns, as the chart's legend says them
STATUS_WORDS = {
    "agree": "agree",
    "differ": "differ",
    "only_in_a": "only in the first",
    "only_in_b": "only in the second",
}


def reconciliation_chart(reconciliation: pl.DataFrame) -> alt.Chart:
    statuses = list(STATUS_WORDS)
    frame = (
        reconciliation.with_columns(
            pl.concat_str("source_a", pl.lit(" vs "), "source_b").alias("pair")
        )
        .unpivot(index="pair", on=statuses, variable_name="status", value_name="tallies")
        .pipe(_with_label, "pair")
        .with_columns(
            pl.col("status")
            .replace_strict({s: i for i, s in enumerate(statuses)}, return_dtype=pl.Int64)
            .alias("order"),
            pl.col("status").replace_strict(STATUS_WORDS),
        )
    )
    return (
        alt.Chart(_data(frame))
        .mark_bar()
        .encode(
            y=alt.Y(f"{LABEL}:N", title=None, axis=LABEL_AXIS),
            x=alt.X("tallies:Q", stack="zero", title="Tallies"),
            color=alt.Color(
                "status:N",
                scale=alt.Scale(
                    domain=list(STATUS_WORDS.values()),
                    range=["#2a9d8f", PALETTE[1], "#b8bec6", "#5f7481"],
                ),
                legend=alt.Legend(orient="top", title=None),
            ),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("pair:N", title="sources"),
                "status:N",
                alt.Tooltip("tallies:Q", format=","),
            ],
        )
        .properties(width=WIDTH, height=step_for(frame, 24), title="Tally-by-tally reconciliation")
    )


def announced_chart(announced: pl.DataFrame) -> alt.Chart:
    """announced: announced_vs_tallied's rows with `bulletin_name` (the bulletin's name, else
    its id), one panel a bulletin, titled by its name in full, in the frame's order."""
    frame = (
        announced.select("bulletin_name", "candidate_name", "announced_votes", "tallied_votes")
        .unpivot(
            index=["bulletin_name", "candidate_name"],
            on=["announced_votes", "tallied_votes"],
            variable_name="figure",
            value_name="votes",
        )
        .with_columns(pl.col("figure").str.replace("_votes", ""))
        .pipe(_with_label, "candidate_name")
    )
    bulletins = announced["bulletin_name"].unique(maintain_order=True).to_list()
    return (
        alt.Chart(_data(frame))
        .mark_bar()
        .encode(
            y=alt.Y(f"{LABEL}:N", title=None, axis=LABEL_AXIS),
            yOffset=alt.YOffset("figure:N"),
            x=alt.X("votes:Q", title="Votes", axis=alt.Axis(format="~s")),
            color=alt.Color(
                "figure:N",
                scale=alt.Scale(domain=["announced", "tallied"], range=[PALETTE[2], PALETTE[0]]),
                legend=alt.Legend(orient="top", title=None),
            ),
            row=alt.Row(
                "bulletin_name:N",
                title=None,
                sort=bulletins,
                header=alt.Header(
                    labelAngle=0,
                    labelOrient="top",
                    labelAnchor="start",
                    labelAlign="left",
                    labelLimit=0,
                    labelFontWeight="bold",
                ),
            ),
            tooltip=[
                alt.Tooltip("bulletin_name:N", title="bulletin"),
                alt.Tooltip("candidate_name:N", title="candidate"),
                "figure:N",
                alt.Tooltip("votes:Q", format=","),
            ],
        )
        .properties(width=WIDTH, height=alt.Step(14), title="Announced against tallied")
    )


def projection_chart(projection: pl.DataFrame) -> alt.Chart:
    frame = _with_label(
        projection.select(
            "candidate_name",
            "projected_share",
            "share_lower_95",
            "share_upper_95",
            "projected_votes",
        ),
        "candidate_name",
    )
    base = alt.Chart(_data(frame)).encode(
        y=alt.Y(
            f"{LABEL}:N",
            sort=alt.SortField("projected_share", order="descending"),
            title=None,
            axis=LABEL_AXIS,
        )
    )
    interval = base.mark_rule(color=PALETTE[0], strokeWidth=2).encode(
        x=alt.X(
            "share_lower_95:Q", axis=alt.Axis(format="%"), title="Projected share (95 % interval)"
        ),
        x2="share_upper_95:Q",
    )
    point = base.mark_point(filled=True, size=60, color=PALETTE[1]).encode(
        x="projected_share:Q",
        tooltip=[
            "candidate_name:N",
            alt.Tooltip("projected_share:Q", format=".2%"),
            alt.Tooltip("share_lower_95:Q", format=".2%"),
            alt.Tooltip("share_upper_95:Q", format=".2%"),
        ],
    )
    return (interval + point).properties(
        width=WIDTH, height=step_for(frame, 22), title="Projected final result"
    )


def forensics_chart(forensics: pl.DataFrame) -> alt.Chart:
    frame = (
        forensics.group_by("check_id", "check_name")
        .agg(
            pl.col("flagged").fill_null(False).sum().alias("flagged"),
            (~pl.col("flagged").fill_null(False)).sum().alias("not flagged"),
        )
        .with_columns(pl.concat_str("check_id", pl.lit(" "), "check_name").alias("check"))
        .unpivot(
            index="check",
            on=["flagged", "not flagged"],
            variable_name="outcome",
            value_name="units",
        )
        .pipe(_with_label, "check")
    )
    return (
        alt.Chart(_data(frame))
        .mark_bar()
        .encode(
            y=alt.Y(f"{LABEL}:N", title=None, axis=LABEL_AXIS),
            x=alt.X("units:Q", stack="zero", title="Units or tables examined"),
            color=alt.Color(
                "outcome:N",
                scale=alt.Scale(domain=["flagged", "not flagged"], range=[PALETTE[1], "#b8bec6"]),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=["check:N", "outcome:N", alt.Tooltip("units:Q", format=",")],
        )
        .properties(width=WIDTH, height=step_for(frame, 24), title="Forensic checks")
    )
