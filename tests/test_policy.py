"""An election's quality policy (election.toml [quality]) and unit names without a registry
(names files; a code under two parents is E6)."""

import tomllib
from dataclasses import replace
from datetime import datetime

import polars as pl
import pytest

from expectations.evidence import build_evidence
from expectations.quarantine import judge, waived
from expectations.rules import ERROR_RULES, RULES, applicable, for_policy
from expectations.suites import validate
from landing.files import FileRejected, read_unit_names
from orchestration.runner import failure_messages
from orchestration.settings import DEFAULT_QUARANTINE_THRESHOLD, Settings, quarantine_threshold
from tests.conftest import mart_snapshot, published, run
from transforms.contract import ContractError
from transforms.contract_models import parse_election
from transforms.model import QualityPolicy, RuleOverride
from transforms.rollup import parent_conflicts, units_from_tallies
from warehouse.configs import load_election
from warehouse.db import connect

ELECTION_TOML = """
id = "pol"
name = "Policy Republic"
levels = ["state", "municipality", "table"]
candidates = [{ id = "A", name = "Ana" }, { id = "B", name = "Beto" }]
"""
CONTRACT_TOML = """
id = "official"
source = { id = "official", kind = "official", name = "The authority" }
file = { pattern = "tally_*.csv" }
codes = { state = "state", municipality = "municipality", table = "table" }

[counts]
registered = "registered"
valid_votes = "valid"
null_votes = "null"
total_votes = "total"

[candidates.columns]
A = "A"
B = "B"
"""
HEADER = "state,municipality,table,registered,valid,null,total,A,B\n"


def tally_rows(n: int = 10, bad_total: int = 0, start: int = 0) -> str:
    """n tallies of 200 registered, 100 cast; the first bad_total declare a total of 99 (E4)."""
    out = []
    for i in range(start, start + n):
        state = "S1" if i % 2 == 0 else "S2"
        total = 99 if i - start < bad_total else 100
        out.append(f"{state},{state}-M{i % 3},T{i:03d},200,98,2,{total},60,38\n")
    return "".join(out)


def policy_election(tmp_path, settings: Settings, extra: str = "", feed: str | None = None):
    """The `pol` election in its own elections folder (election.toml + `extra`), one feed landed."""
    elections = tmp_path / "elections"
    (elections / "pol" / "contracts").mkdir(parents=True, exist_ok=True)
    (elections / "pol" / "election.toml").write_text(ELECTION_TOML + extra)
    (elections / "pol" / "contracts" / "official.toml").write_text(CONTRACT_TOML)
    landing = tmp_path / "pol_landing"
    landing.mkdir(exist_ok=True)
    if feed is not None:
        (landing / "tally_001.csv").write_text(HEADER + feed)
    return replace(
        settings,
        election="pol",
        landing_dir=landing,
        elections_dir=elections,
        quarantine_threshold=None,
    )


THRESHOLD_25 = "\n[quality]\nquarantine_threshold = 0.25\n"
E4_WAIVED = """
[quality]
[[quality.override]]
rule = "E4"
source = "official"
severity = "warn"
reason = "The authority marks these sheets as reconciled by hand (bulletin 7)."
"""


# --- the policy as configuration ------------------------------------------------------------


def test_the_default_policy_is_the_catalogue_exactly():
    assert for_policy(RULES, QualityPolicy()) == RULES
    parsed = parse_election(tomllib.loads(ELECTION_TOML), "pol/election.toml")
    assert parsed.quality == QualityPolicy()


def test_a_policy_is_read_whole():
    text = ELECTION_TOML + (
        "\n[quality]\nquarantine_threshold = 0.25\nw1_turnout = 0.9\nw1_min_registered = 50\n"
        "w2_min_valid = 20\n" + E4_WAIVED.replace("[quality]\n", "")
    )
    policy = parse_election(tomllib.loads(text), "pol/election.toml").quality
    assert policy.quarantine_threshold == 0.25
    assert (policy.w1_turnout, policy.w1_min_registered, policy.w2_min_valid) == (0.9, 50, 20)
    assert policy.overrides == (
        RuleOverride(
            "E4",
            "warn",
            "The authority marks these sheets as reconciled by hand (bulletin 7).",
            "official",
        ),
    )
    w1 = next(r for r in for_policy(RULES, policy) if r.id == "W1")
    assert w1.description == "Turnout of 90 % or more at a unit with at least 50 registered voters."
    assert w1.expectations[0][1]["max_value"] == 0.9


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "[quality]\nquarantine_threshold = 1.5\n",
            "pol/election.toml: quality.quarantine_threshold: expected a number <= 1.0, got 1.5",
        ),
        (
            "[quality]\nquarantine_threshold = '5%'\n",
            "pol/election.toml: quality.quarantine_threshold: expected a number, got '5%'",
        ),
        (
            "[quality]\nw1_turnout = 0\n",
            "pol/election.toml: quality.w1_turnout: expected a number > 0.0, got 0",
        ),
        (
            "[quality]\nw2_min_valid = 0\n",
            "pol/election.toml: quality.w2_min_valid: expected a number >= 1, got 0",
        ),
        (
            "[quality]\nthreshold = 0.2\n",
            "pol/election.toml: quality: unknown key(s) threshold; allowed: "
            "quarantine_threshold, w1_turnout, w1_min_registered, w2_min_valid, override",
        ),
        (
            '[[quality.override]]\nrule = "E4"\nseverity = "warn"\n',
            "pol/election.toml: quality.override[0]: missing key 'reason'",
        ),
        (
            '[[quality.override]]\nrule = "E4"\nseverity = "warn"\nreason = "   "\n',
            "pol/election.toml: quality.override[0].reason: expected a reason for people (not "
            "blank, no control characters), got '   '",
        ),
        (
            '[[quality.override]]\nrule = "E4"\nseverity = "ignore"\nreason = "x"\n',
            "pol/election.toml: quality.override[0].severity: 'ignore' is not one of 'warn'",
        ),
        (
            '[[quality.override]]\nrule = "E4"\nseverity = "warn"\nreason = "x"\n'
            '[[quality.override]]\nrule = "E4"\nseverity = "warn"\nreason = "y"\n',
            "pol/election.toml: quality.override[1]: rule E4 is overridden twice for every source",
        ),
        (
            'names = { county = "c.csv" }\n',
            "pol/election.toml: names.county: 'county' is not one of the levels "
            "(state, municipality, table)",
        ),
        (
            'names = { state = "../states.csv" }\n',
            "pol/election.toml: names.state: expected a file name in the landing folder, "
            "got '../states.csv'",
        ),
        (
            'registry = "registry.csv"\nnames = { state = "states.csv" }\n',
            "pol/election.toml: names: the registry names the units; names files are for an "
            "election without one",
        ),
    ],
)
def test_an_invalid_policy_is_refused_in_one_line(tmp_path, extra, message):
    text = ELECTION_TOML + extra
    with pytest.raises(ContractError) as caught:
        parse_election(tomllib.loads(text), "pol/election.toml")
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("rule", "source", "message"),
    [
        ("E9", None, "quality.override[0].rule: no rule 'E9'; error rules: E1, E2, E3, E4, E5, "),
        ("W1", None, "quality.override[0].rule: W1 is already a warning; only error rules"),
        ("E4", "observers", "quality.override[0].source: no contract feeds source 'observers'"),
    ],
)
def test_an_override_names_an_error_rule_and_a_known_source(
    tmp_path, settings, rule, source, message
):
    where = f'source = "{source}"\n' if source else ""
    extra = f'[[quality.override]]\nrule = "{rule}"\n{where}severity = "warn"\nreason = "x"\n'
    configured = policy_election(tmp_path, settings, extra)
    with pytest.raises(ContractError) as caught:
        load_election("pol", configured.elections_dir)
    assert str(caught.value).startswith(f"pol/election.toml: {message}")
    assert "\n" not in str(caught.value)


def test_the_flag_or_environment_beats_the_file_which_beats_the_default(tmp_path):
    data = tmp_path / "d"
    assert quarantine_threshold(Settings(data), None) == (DEFAULT_QUARANTINE_THRESHOLD, "default")
    assert quarantine_threshold(Settings(data), 0.25) == (0.25, "election.toml [quality]")
    flag = quarantine_threshold(Settings(data, quarantine_threshold=0.1), 0.25)
    assert flag[0] == 0.1 and flag[1].startswith("settings")


# --- judging by the policy ------------------------------------------------------------------


def test_a_demoted_error_rule_flags_with_its_reason_and_keeps_the_tally():
    policy = QualityPolicy(overrides=(RuleOverride("E4", "warn", "by hand", "official"),))
    evidence = pl.DataFrame(
        {
            "tally_id": [1, 2, 3],
            "source_id": ["official", "official", "observers"],
            "tally_code": ["T1", "T2", "T3"],
            "file_sha256": ["f"] * 3,
            "source_row": [1, 2, 3],
            "delivery_seq": [1, 1, 1],
            "votes_cast": [100, 100, 100],
            "total_votes": [99, 100, 99],
        }
    )
    e4 = tuple(r for r in RULES if r.id == "E4")
    failures = validate(evidence, e4, "e4")
    verdicts = judge(evidence, failures, "run", datetime(2026, 1, 1), policy)
    issues = verdicts.issues.sort("tally_id")
    assert issues.select("tally_id", "severity", "overridden", "override_reason").rows() == [
        (1, "warn", True, "by hand"),
        (3, "error", False, None),
    ]
    assert sorted(verdicts.accepted["tally_id"]) == [1, 2]
    assert verdicts.quarantine["tally_id"].to_list() == [3]
    recheck = waived(validate(verdicts.accepted, e4, "again"), verdicts.accepted, policy)
    assert recheck.count("E4") == 0
    assert waived(failures, evidence, QualityPolicy()).count("E4") == 2


def test_w1_and_w2_thresholds_are_the_policys():
    tallies = pl.DataFrame(
        {
            "tally_id": [1, 2],
            "source_id": ["s", "s"],
            "tally_code": ["T1", "T2"],
            "state_code": ["S", "S"],
            "municipality_code": ["M", "M"],
            "table_code": ["T1", "T2"],
            "registered": [60, 200],
            "valid_votes": [55, 184],
            "null_votes": [0, 0],
            "blank_votes": [None, None],
            "total_votes": [None, None],
            "candidate_sum": [55, 184],
            "top_candidate_votes": [55, 100],
            "previous_total_votes": [None, None],
        },
        schema_overrides={"blank_votes": pl.Int64, "total_votes": pl.Int64},
    )
    election = parse_election(tomllib.loads(ELECTION_TOML), "pol")
    loose = replace(
        election, quality=QualityPolicy(w1_turnout=0.9, w1_min_registered=50, w2_min_valid=60)
    )
    # by default: W1 needs 100 registered and 95 %, W2 flags tally 1 (55 of 55 valid, >= 50);
    # the loose policy: W1 at 90 % from 50 registered flags both, W2 from 60 valid flags none
    for chosen, w1, w2 in [(election, [], [1]), (loose, [1, 2], [])]:
        evidence = build_evidence(tallies, chosen, None)
        rules = applicable(for_policy(RULES, chosen.quality), False)
        failures = validate(evidence, tuple(r for r in rules if r.id in ("W1", "W2")), "w")
        assert failures.ids("W1").to_list() == w1
        assert failures.ids("W2").to_list() == w2


# --- names and parents without a registry ---------------------------------------------------


def test_names_files_give_the_units_names(tmp_path, settings):
    extra = 'names = { state = "states.csv", municipality = "municipalities.csv" }\n'
    configured = policy_election(tmp_path, settings, extra)
    (configured.landing_dir / "states.csv").write_text("code,name\nS1,North\nS2,South\n")
    election = load_election("pol", configured.elections_dir).election
    names = read_unit_names(configured.landing_dir, election)
    assert set(names) == {"state"}, "a names file not landed gives no names"
    tallies = pl.DataFrame(
        {
            "tally_id": [1, 2],
            "state_code": ["S1", "S3"],
            "municipality_code": ["S1-M1", "S3-M1"],
            "table_code": ["T1", "T2"],
        }
    )
    units = units_from_tallies(tallies, election, names).filter(level="state")
    assert dict(units.select("unit_code", "unit_name").iter_rows()) == {
        "S1": "North",
        "S3": "S3",
    }


def test_a_names_file_naming_a_code_twice_is_refused_naming_the_rows(tmp_path, settings):
    configured = policy_election(tmp_path, settings, 'names = { state = "states.csv" }\n')
    (configured.landing_dir / "states.csv").write_text("code,name\nS1,North\nS2,South\nS1,Nord\n")
    election = load_election("pol", configured.elections_dir).election
    with pytest.raises(FileRejected) as caught:
        read_unit_names(configured.landing_dir, election)
    assert str(caught.value) == (
        "states.csv: names for state: code 'S1' has different names at rows 1, 3"
    )
    (configured.landing_dir / "states.csv").write_text("id,label\nS1,North\n")
    with pytest.raises(FileRejected, match="no column code, name"):
        read_unit_names(configured.landing_dir, election)


def test_a_code_under_two_parents_is_named_with_both_parents():
    election = parse_election(tomllib.loads(ELECTION_TOML), "pol")
    tallies = pl.DataFrame(
        {
            "tally_id": [1, 2, 3],
            "state_code": ["S1", "S2", "S1"],
            "municipality_code": ["M1", "M1", "M2"],
            "table_code": ["T1", "T2", "T3"],
        }
    )
    conflicts = parent_conflicts(tallies, election).sort("tally_id")
    assert conflicts.rows() == [
        (1, "municipality M1 under state S1 and S2"),
        (2, "municipality M1 under state S1 and S2"),
    ]
    assert parent_conflicts(tallies.filter(pl.col("tally_id") != 2), election).is_empty()
    e6 = next(r for r in applicable(ERROR_RULES, False) if r.id == "E6")
    assert e6.observed == ("parent_conflict",)
    assert all(r.id != "E7" for r in applicable(ERROR_RULES, False))


# --- through the pipeline -------------------------------------------------------------------


def _quality_issues(settings):
    return published(settings, "select * from quality_issues order by tally_code")


@pytest.mark.e2e
def test_the_files_threshold_lets_a_fifth_flagged_publish_and_the_flag_beats_it(tmp_path, settings):
    feed = tally_rows(10, bad_total=2)  # 20 % break E4
    blocked = run(policy_election(tmp_path, settings, "", feed))
    assert not blocked.success, "the default 5 % blocks"
    assert "quarantine_share_per_delivery" in "\n".join(failure_messages(blocked))

    configured = policy_election(tmp_path, settings, THRESHOLD_25, feed)
    result = run(configured)
    assert result.success, failure_messages(result)
    assert set(_quality_issues(settings)["status"]) == {"quarantined"}
    with connect(settings.warehouse, read_only=True) as con:
        recorded = con.sql(
            "select quarantine_threshold, threshold_from from quality.policy "
            "order by recorded_at desc limit 1"
        ).fetchall()[0]
    assert recorded == (0.25, "election.toml [quality]")

    flagged = run(replace(configured, quarantine_threshold=0.05))
    assert not flagged.success, "the flag (or environment) beats the file"


@pytest.mark.e2e
@pytest.mark.usefixtures("vega_bundle_once")
def test_a_demoted_rule_flags_shows_its_reason_and_counts_its_tallies(tmp_path, settings, capsys):
    configured = policy_election(tmp_path, settings, E4_WAIVED, tally_rows(10, bad_total=2))
    result = run(configured)
    assert result.success, failure_messages(result)
    issues = _quality_issues(settings)
    assert issues.select("rule_id", "severity", "status", "overridden").unique().rows() == [
        ("E4", "warn", "flagged", True)
    ]
    assert set(issues["override_reason"]) == {
        "The authority marks these sheets as reconciled by hand (bulletin 7)."
    }
    assert issues["tally_code"].to_list() == ["T000", "T001"]
    national = published(
        settings,
        "select candidate_id, votes from results where level = 'national' order by 1",
    )
    assert national.rows() == [("A", 600), ("B", 380)], "all ten tallies are counted"
    gate = next(
        m
        for m in result.get_asset_materialization_events()
        if m.asset_key.path == ["quality", "quarantine"]
    ).materialization.metadata
    assert gate["quarantined"].value == 0 and gate["overridden"].value == 2
    assert gate["policy"].value["overrides"][0]["rule"] == "E4"

    from reporting.terminal.run_summary import print_issues

    capsys.readouterr()
    print_issues(settings.warehouse, "E4", None, 10)
    out = capsys.readouterr().out
    assert "overridden: The authority marks these sheets as reconciled by hand" in out

    from reporting.html.write import write_report

    page = write_report(settings.published, tmp_path / "report.html").path.read_text()
    assert "Rule overridden" in page
    assert "reconciled by hand (bulletin 7)" in page


@pytest.mark.e2e
def test_names_files_name_the_units_in_the_marts(tmp_path, settings):
    extra = 'names = { state = "states.csv" }\n'
    configured = policy_election(tmp_path, settings, extra, tally_rows(4))
    (configured.landing_dir / "states.csv").write_text("code,name\nS1,North\nS2,South\n")
    assert run(configured).success
    names = published(
        settings, "select distinct unit_code, unit_name from results where level = 'state'"
    )
    assert dict(names.iter_rows()) == {"S1": "North", "S2": "South"}


@pytest.mark.e2e
def test_a_code_under_two_parents_is_quarantined_under_e6_naming_parents_file_rows(
    tmp_path, settings
):
    feed = tally_rows(8) + "S2,S1-M0,T900,200,98,2,100,60,38\n"  # S1-M0 also under S1
    configured = policy_election(tmp_path, settings, THRESHOLD_25.replace("0.25", "1"), feed)
    result = run(configured)
    assert result.success, failure_messages(result)
    issues = _quality_issues(settings).filter(rule_id="E6")
    assert set(issues["observed"]) == {"parent_conflict=municipality S1-M0 under state S1 and S2"}
    assert set(issues["status"]) == {"quarantined"}
    assert set(issues["file_name"]) == {"tally_001.csv"}
    # T000, T006 are S1-M0 under S1 (rows 1, 7); T900 under S2 (row 9)
    assert issues.select("tally_code", "source_row").sort("source_row").rows() == [
        ("T000", 1),
        ("T006", 7),
        ("T900", 9),
    ]
    units = published(settings, "select unit_code from results where level = 'municipality'")
    assert "S1-M0" not in set(units["unit_code"])


@pytest.mark.e2e
def test_a_policy_change_between_runs_judges_everything_again(tmp_path, settings):
    first = policy_election(tmp_path, settings, THRESHOLD_25, tally_rows(10, bad_total=2))
    assert run(first).success
    (first.landing_dir / "tally_002.csv").write_text(HEADER + tally_rows(5, start=20))
    changed = policy_election(tmp_path, settings, E4_WAIVED)
    result = run(changed)
    assert result.success, failure_messages(result)
    with connect(settings.warehouse, read_only=True) as con:
        mode, reason = con.sql("select mode, reason from quality.state").fetchall()[0]
    assert (mode, reason) == ("full", "the quality policy changed")
    incremental = mart_snapshot(settings)

    rebuilt_settings = replace(changed, data_dir=tmp_path / "rebuilt")
    from orchestration.settings import prepare_data_dir

    prepare_data_dir(rebuilt_settings)
    assert run(rebuilt_settings).success
    rebuilt = mart_snapshot(rebuilt_settings)
    assert incremental.keys() == rebuilt.keys()
    for name in incremental:
        assert incremental[name].equals(rebuilt[name]), name


@pytest.mark.e2e
def test_a_names_file_landing_between_runs_restages_in_full(tmp_path, settings):
    extra = 'names = { state = "states.csv" }\n'
    first = policy_election(tmp_path, settings, extra, tally_rows(6))
    assert run(first).success
    (first.landing_dir / "states.csv").write_text("code,name\nS1,North\nS2,South\n")
    (first.landing_dir / "tally_002.csv").write_text(HEADER + tally_rows(2, start=20))
    assert run(first).success
    with connect(settings.warehouse, read_only=True) as con:
        mode, reason = con.sql("select mode, reason from staged.state").fetchall()[0]
    assert (mode, reason) == ("full", "the unit names files or the withdrawn deliveries changed")
    names = published(
        settings, "select distinct unit_code, unit_name from results where level = 'state'"
    )
    assert dict(names.iter_rows()) == {"S1": "North", "S2": "South"}
