import dagster as dg

from orchestration.definitions import REBUILD_SCHEDULE, TALLY_JOB, build_definitions
from orchestration.sensors import FULL_TAG
from orchestration.settings import load_settings


def test_definitions_load_with_every_layer(tmp_path):
    defs = build_definitions(load_settings(tmp_path))
    defs.resolve_all_job_defs()
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {
        "raw/deliveries",
        "staged/tallies",
        "staged/tally_votes",
        "staged/units",
        "marts/results",
        "marts/turnout",
        "marts/coverage",
        "marts/quality_summary",
        "marts/quality_issues",
        "marts/reconciliation",
        "marts/reconciliation_lines",
        "marts/reconciliation_summary",
        "marts/announced_vs_tallied",
        "marts/amendments",
        "marts/projection",
        "marts/forensics",
        "quality/quarantine",
        "quality/issues",
        "published/marts",
    } <= keys
    checks = {k.name for k in defs.resolve_asset_graph().asset_check_keys}
    assert {
        "landed_files_accepted",
        "accepted_tallies_break_no_error_rule",
        "quarantine_share_per_delivery",
        "w1_high_turnout",
        "w2_one_candidate_takes_all",
        "w3_total_fell_between_deliveries",
    } <= checks
    assert defs.resolve_job_def(TALLY_JOB) is not None


def test_the_nightly_schedule_rebuilds_every_layer(tmp_path):
    settings = load_settings(tmp_path, env={"TALLYHOUSE_REBUILD_CRON": "30 4 * * *"})
    schedule = build_definitions(settings).resolve_schedule_def(REBUILD_SCHEDULE)
    assert schedule.cron_schedule == "30 4 * * *"
    assert schedule.job_name == TALLY_JOB
    assert schedule.tags == {FULL_TAG: "true"}, "a rebuild ignores the incremental state"


def test_module_level_definitions_read_settings_when_loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("TALLYHOUSE_DATA_DIR", str(tmp_path / "elsewhere"))
    from orchestration import definitions

    loaded = definitions.defs()
    assert isinstance(loaded, dg.Definitions)
    dirs = loaded.resources["dirs"]
    assert dirs.data_dir == str((tmp_path / "elsewhere").resolve())


def test_settings_precedence(tmp_path):
    assert load_settings(tmp_path / "a", env={"TALLYHOUSE_DATA_DIR": "/x"}).data_dir == (
        tmp_path / "a"
    )
    assert str(load_settings(None, env={"TALLYHOUSE_DATA_DIR": "/x"}).data_dir) == "/x"
    assert load_settings(None, env={}).data_dir.name == "data"
