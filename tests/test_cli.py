"""The three journeys end to end through the command line (typer's CliRunner and subprocess).

Fixtures are real files written here: FIT runs with :mod:`kneeflags.testing.fitwriter`
and a GPX run as text. Every invocation passes ``--cache-dir`` under ``tmp_path`` so the
tests never touch the user's cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from kneeflags import __version__
from kneeflags.cli import app, main
from kneeflags.report import load_schema
from kneeflags.testing.fitwriter import fit_time, synthetic_run, write_activity

FIRST_MONDAY = date(2025, 11, 3)
ANN_WEEKS = 6
JUMP_WEEK = FIRST_MONDAY + timedelta(weeks=ANN_WEEKS - 1)
UNTIL = (JUMP_WEEK + timedelta(days=6)).isoformat()  # batch defaults to today's last week
JUMP_LABEL = "{}-W{:02d}".format(*JUMP_WEEK.isocalendar()[:2])
QUIET_WEEK = FIRST_MONDAY + timedelta(weeks=2)
QUIET_LABEL = "{}-W{:02d}".format(*QUIET_WEEK.isocalendar()[:2])
HOSTILE = "<script>alert(1)</script>"

runner = CliRunner()


def _run_file(day: date, minutes: int, seed: int) -> bytes:
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=7)
    return write_activity(synthetic_run(fit_time(start), minutes * 60, seed=seed))


def _athlete(folder: Path, weeks: int, *, jump: bool, seed: int) -> None:
    """Three 25-minute runs a week; with ``jump`` the last week's runs last 50 minutes."""
    folder.mkdir(parents=True)
    for w in range(weeks):
        for i, dow in enumerate((1, 3, 5)):
            minutes = 50 if jump and w == weeks - 1 else 25
            day = FIRST_MONDAY + timedelta(weeks=w, days=dow)
            data = _run_file(day, minutes, seed + 10 * w + i)
            (folder / f"{day.isoformat()}-run.fit").write_bytes(data)


def _gpx(start: datetime, name: str, n: int = 900) -> str:
    pts = []
    for i in range(n):
        t = (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        pts.append(
            f'<trkpt lat="{47.5 + i * 2.8 / 111_195:.7f}" lon="8.5"><ele>400</ele>'
            f"<time>{t}</time><extensions><gpxtpx:TrackPointExtension>"
            "<gpxtpx:cad>86</gpxtpx:cad></gpxtpx:TrackPointExtension></extensions></trkpt>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
        f"<trk><name>{name}</name><type>running</type><trkseg>{''.join(pts)}</trkseg></trk>"
        "</gpx>\n"
    )


@pytest.fixture(scope="module")
def coach(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``coach/ann`` (volume jump, hostile GPX name), ``coach/bob`` (steady), ``carl.zip``."""
    root = tmp_path_factory.mktemp("coach")
    _athlete(root / "ann", ANN_WEEKS, jump=True, seed=1)
    gpx_day = datetime.combine(JUMP_WEEK + timedelta(days=6), datetime.min.time(), tzinfo=UTC)
    escaped = HOSTILE.replace("<", "&lt;").replace(">", "&gt;")
    (root / "ann" / "sunday.gpx").write_text(_gpx(gpx_day + timedelta(hours=9), escaped))
    _athlete(root / "bob", 4, jump=False, seed=100)
    return root


@pytest.fixture
def broken_coach(coach: Path, tmp_path: Path) -> Path:
    """The coach folder plus a broken export (``carl.zip`` that is not a ZIP)."""
    root = tmp_path / "coach"
    shutil.copytree(coach, root)
    (root / "carl.zip").write_bytes(b"PK\x03\x04 this export was cut off" + b"\x00" * 64)
    return root


def cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None):  # -> Result
    return runner.invoke(
        app, [*args, "--cache-dir", str(tmp_path / "cache")], env=env, catch_exceptions=False
    )


def flat(text: str) -> str:
    """Output with rich's box drawing and line wrapping removed."""
    return " ".join(text.replace("│", " ").split())


def validate(doc: dict) -> None:
    jsonschema.validate(doc, load_schema(), cls=jsonschema.Draft202012Validator)


# --- general ---------------------------------------------------------------------------


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"kneeflags {__version__}"


@pytest.mark.parametrize("args", [["--help"], ["analyze", "--help"], ["report", "--help"]])
def test_help_documents_the_exit_codes(args: list[str]) -> None:
    result = runner.invoke(app, args, env={"COLUMNS": "100"})
    assert result.exit_code == 0
    text = result.stdout
    assert "Exit codes" in text
    for line in ("0  success", "1  some input files could not be read", "2  usage error"):
        assert line in text
    assert "--fail-on threshold was reached" in text


# --- analyze ---------------------------------------------------------------------------


def test_analyze_text_report_exit_0(coach: Path, tmp_path: Path) -> None:
    result = cli(tmp_path, "analyze", str(coach / "ann"))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("FLAGS") < out.index("WEEKLY TABLE") < out.index("FILES")
    assert "kneeflags report: ann" in out
    assert "Weekly volume jump" in out
    assert "\x1b[" not in out  # not a terminal: plain text
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


def test_analyze_json_validates_and_escapes_nothing_away(coach: Path, tmp_path: Path) -> None:
    result = cli(tmp_path, "analyze", str(coach / "ann"), "--format", "json", "--weeks", "4")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    validate(doc)
    (ann,) = doc["athletes"]
    assert ann["athlete"] == "ann"
    assert ann["window"]["weeks"] == 4 and ann["window"]["last_week"] == JUMP_LABEL
    assert [w["week_start"] for w in ann["weeks"]][-1] == JUMP_WEEK.isoformat()
    assert len(ann["activities"]) == 4 * 3 + 1
    assert HOSTILE in {a["name"] for a in ann["activities"]}  # data keeps the text as is
    assert any(f["rule"] == "volume-jump" for f in ann["flags"])
    assert doc["errors"] == [] and doc["skipped"] == 0


def test_analyze_until_moves_the_window(coach: Path, tmp_path: Path) -> None:
    until = (QUIET_WEEK + timedelta(days=2)).isoformat()
    result = cli(
        tmp_path, "analyze", str(coach / "ann"), "-f", "json", "--until", until, "--weeks", "2"
    )
    doc = json.loads(result.stdout)
    weeks = [w["week_start"] for w in doc["athletes"][0]["weeks"]]
    assert weeks == [(QUIET_WEEK - timedelta(weeks=1)).isoformat(), QUIET_WEEK.isoformat()]


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json", "csv"])
def test_analyze_writes_every_format_to_a_file(coach: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "out" / f"r.{fmt}"
    result = cli(tmp_path, "analyze", str(coach / "ann"), "-f", fmt, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert "ann" in text
    if fmt == "html":
        import xml.etree.ElementTree as ET

        ET.fromstring(text.encode())
        assert "<script>" not in text and "&lt;script&gt;" in text
    if fmt == "markdown":
        assert "<script>" not in text
    if fmt == "csv":
        assert text.splitlines()[0].startswith("athlete,week_start,run_km")
    assert not list(out.parent.glob(".*.tmp"))  # atomic write left no temp file


def test_analyze_globs_and_tilde(coach: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(coach / "bob", home / "runs")
    result = cli(
        tmp_path,
        "analyze",
        "~/runs/*.fit",
        "-f",
        "json",
        "--athlete",
        "bob",
        env={"HOME": str(home)},
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert len(doc["athletes"][0]["activities"]) == 12


def test_exit_1_when_a_file_cannot_be_read_and_the_rest_is_reported(
    coach: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "ann"
    shutil.copytree(coach / "ann", folder)
    (folder / "garbage.fit").write_bytes(os.urandom(300))
    result = cli(tmp_path, "analyze", str(folder), "-f", "json", "--weeks", "52")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    validate(doc)
    assert [Path(e["path"]).name for e in doc["errors"]] == ["garbage.fit"]
    assert len(doc["athletes"][0]["activities"]) == ANN_WEEKS * 3 + 1  # all good files
    # the unreadable file is named on stderr, one line (the report holds it too)
    (line,) = result.stderr.splitlines()
    assert "garbage.fit: not a valid FIT file" in line


@pytest.mark.parametrize(
    "args",
    [
        ["analyze"],
        ["analyze", "{ann}", "--format", "pdf"],
        ["analyze", "{ann}", "--tz", "Mars/Olympus_Mons"],
        ["analyze", "{ann}", "--weeks", "0"],
        ["analyze", "{ann}", "--until", "2026-13-01"],
        ["analyze", "{ann}", "--config", "{missing}"],
        ["analyze", "{ann}", "--no-such-option"],
        ["report", "{ann}", "--week", "2026-W60"],
        ["report", "{ann}", "--week", "last week"],
        ["batch", "{ann}/2025-11-04-run.fit"],
        ["rules", "no-such-rule"],
        ["frobnicate"],
    ],
)
def test_exit_2_on_usage_errors(coach: Path, tmp_path: Path, args: list[str]) -> None:
    filled = [a.format(ann=coach / "ann", missing=tmp_path / "missing.toml") for a in args]
    result = runner.invoke(app, filled)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_bad_config_file_is_a_usage_error_naming_the_file(coach: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "kf.toml"
    cfg.write_text("[rules.volume-jump]\nwatch_pct = 'ten'\n")
    result = cli(tmp_path, "analyze", str(coach / "ann"), "--config", str(cfg))
    assert result.exit_code == 2
    assert "kf.toml" in flat(result.output) and "watch_pct" in flat(result.output)


def test_bad_time_zone_in_config_is_a_usage_error(coach: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "tz.toml"
    cfg.write_text('timezone = "Europe/Atlantis"\n')
    result = cli(tmp_path, "analyze", str(coach / "ann"), "--config", str(cfg))
    assert result.exit_code == 2
    assert "tz.toml" in flat(result.output) and "Europe/Atlantis" in flat(result.output)


def test_config_thresholds_are_used(coach: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "kf.toml"
    cfg.write_text("[rules.volume-jump]\nwatch_pct = 500.0\nhigh_pct = 900.0\n")
    result = cli(tmp_path, "analyze", str(coach / "ann"), "-f", "json", "--config", str(cfg))
    doc = json.loads(result.stdout)
    assert not any(f["rule"] == "volume-jump" for f in doc["athletes"][0]["flags"])


def test_exit_3_when_fail_on_is_reached(coach: Path, tmp_path: Path) -> None:
    result = cli(tmp_path, "analyze", str(coach / "ann"), "--fail-on", "high", "-f", "json")
    assert result.exit_code == 3
    validate(json.loads(result.stdout))


# --- errors never show a traceback -------------------------------------------------------


def test_unexpected_failure_is_one_line_without_traceback(
    coach: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import kneeflags.pipeline

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(kneeflags.pipeline, "run_pipeline", boom)
    argv = ["analyze", str(coach / "ann"), "--cache-dir", str(tmp_path / "c")]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert err == "kneeflags: error: disk on fire second line\n"
    with pytest.raises(SystemExit):
        main([*argv, "--debug"])
    err = capsys.readouterr().err
    assert "Traceback" in err and err.rstrip().endswith(
        "kneeflags: error: disk on fire second line"
    )


def test_unwritable_output_is_one_line_naming_the_file(coach: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kneeflags",
            "analyze",
            str(coach / "bob"),
            "-o",
            str(blocker / "r.txt"),
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("kneeflags: error: ") and "file" in proc.stderr


# --- report (cron) ---------------------------------------------------------------------


def test_report_is_silent_writes_three_files_and_reruns_identically(
    coach: Path, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    args = ["report", str(coach / "ann"), "--out-dir", str(out), "--week", JUMP_LABEL]
    first = cli(tmp_path, *args)
    assert first.exit_code == 0, first.output
    assert first.stdout == "" and first.stderr == ""
    files = sorted(p.name for p in (out / "ann").iterdir() if not p.name.startswith("."))
    assert files == [f"{JUMP_LABEL}.html", f"{JUMP_LABEL}.json", f"{JUMP_LABEL}.md"]
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (out / "ann").glob("*-W*")}
    doc = json.loads((out / "ann" / f"{JUMP_LABEL}.json").read_text())
    validate(doc)
    assert doc["athletes"][0]["window"]["last_week"] == JUMP_LABEL
    end = JUMP_WEEK + timedelta(days=7)
    assert doc["generated_at"] == f"{end.isoformat()}T00:00:00Z"  # pinned, not the clock

    second = cli(tmp_path, *args)
    assert second.exit_code == 0 and second.stdout == ""
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (out / "ann").glob("*-W*")}
    assert after == before  # identical bytes, files not even rewritten
    assert not list((out / "ann").glob(".*.tmp"))


def test_report_source_date_epoch_pins_the_stamp(coach: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    args = ["report", str(coach / "bob"), "--out-dir", str(out), "--week", QUIET_LABEL]
    cli(tmp_path, *args, env={"SOURCE_DATE_EPOCH": "1767225600"})
    doc = json.loads((out / "bob" / f"{QUIET_LABEL}.json").read_text())
    assert doc["generated_at"] == "2026-01-01T00:00:00Z"


def test_report_verbose_says_what_it_wrote(coach: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    args = ["report", str(coach / "bob"), "--out-dir", str(out), "--week", QUIET_LABEL, "-v"]
    result = cli(tmp_path, *args)
    assert result.exit_code == 0
    assert f"bob, week {QUIET_LABEL}" in result.stdout
    assert result.stdout.count("wrote ") == 3
    again = cli(tmp_path, *args)
    assert again.stdout.count("unchanged ") == 3


def test_report_default_week_is_the_last_complete_week(coach: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    result = cli(tmp_path, "report", str(coach / "bob"), "--out-dir", str(out), "--tz", "UTC")
    assert result.exit_code == 0, result.output
    today = datetime.now(UTC).date()
    last = today - timedelta(days=today.weekday() + 7)
    label = "{}-W{:02d}".format(*last.isocalendar()[:2])
    assert (out / "bob" / f"{label}.json").is_file()


def test_report_fail_on_prints_the_flags_and_exits_3(coach: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    args = ["report", str(coach / "ann"), "--out-dir", str(out), "--week", JUMP_LABEL]
    result = cli(tmp_path, *args, "--fail-on", "high")
    assert result.exit_code == 3
    assert "kneeflags: ann, week of " in result.stdout
    assert f"({JUMP_LABEL}): HIGH this week" in result.stdout
    assert "[HIGH] volume-jump" in result.stdout
    assert (out / "ann" / f"{JUMP_LABEL}.html").is_file()  # the report is still written


def test_report_fail_on_not_reached_exits_0(coach: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    args = ["report", str(coach / "ann"), "--out-dir", str(out), "--week", QUIET_LABEL]
    result = cli(tmp_path, *args, "--fail-on", "high")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


def test_report_with_unreadable_file_lists_it_on_stderr_and_exits_1(
    coach: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "bob"
    shutil.copytree(coach / "bob", folder)
    (folder / "empty.gpx").write_bytes(b"")
    out = tmp_path / "reports"
    result = cli(tmp_path, "report", str(folder), "--out-dir", str(out), "--week", QUIET_LABEL)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("kneeflags: ") and "empty.gpx" in result.stderr
    assert (out / "bob" / f"{QUIET_LABEL}.md").is_file()


def test_concurrent_cron_runs_do_not_corrupt_the_folder(coach: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    cmd = [
        sys.executable,
        "-m",
        "kneeflags",
        "report",
        str(coach / "ann"),
        "--out-dir",
        str(out),
        "--week",
        JUMP_LABEL,
        "--no-cache",
        "--workers",
        "1",
    ]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert all(o == "" and e == "" for o, e in results)
    folder = out / "ann"
    assert not list(folder.glob(".*.tmp"))
    validate(json.loads((folder / f"{JUMP_LABEL}.json").read_text()))
    import xml.etree.ElementTree as ET

    ET.fromstring((folder / f"{JUMP_LABEL}.html").read_bytes())
    # the same bytes as a run on its own
    solo = tmp_path / "solo"
    subprocess.run([*cmd[:6], str(solo), *cmd[7:]], check=True, timeout=300)
    for ext in ("md", "html", "json"):
        name = f"{JUMP_LABEL}.{ext}"
        assert (folder / name).read_bytes() == (solo / "ann" / name).read_bytes()


# --- batch -----------------------------------------------------------------------------


def test_batch_with_a_broken_export_reports_the_others_and_exits_1(
    broken_coach: Path, tmp_path: Path
) -> None:
    result = cli(tmp_path, "batch", str(broken_coach), "--until", UNTIL)
    assert result.exit_code == 1, result.output
    out = result.stdout
    lines = [line.split() for line in out.splitlines() if line[:1].isdigit()]
    # ann: high flags; carl (nothing readable) is chased before bob, who is ok
    assert [row[1] for row in lines] == ["ann", "carl", "bob"]
    assert lines[0][2] == "high"
    assert "carl.zip" in out
    assert "Traceback" not in result.output


def test_batch_json_holds_every_athlete_in_one_document(broken_coach: Path, tmp_path: Path) -> None:
    result = cli(tmp_path, "batch", str(broken_coach), "--until", UNTIL, "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    validate(doc)
    names = [a["athlete"] for a in doc["athletes"]]
    assert names == ["ann", "bob", "carl"]  # input order; rank says ann, carl, bob
    carl = doc["athletes"][2]
    assert carl["activities"] == [] and carl["weeks"] == []
    assert any(Path(e["path"]).name.startswith("carl.zip") for e in doc["errors"])
    # one shared window: this week is the same week for every athlete
    assert {a["window"]["last_week"] for a in doc["athletes"]} == {JUMP_LABEL}


def test_batch_out_dir_writes_reports_and_an_index(coach: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    result = cli(
        tmp_path, "batch", str(coach), "--until", UNTIL, "--out-dir", str(out), "--workers", "2"
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    index = (out / "index.html").read_text()
    import xml.etree.ElementTree as ET

    root = ET.fromstring(index.encode())
    hrefs = [el.get("href") for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "a"]
    assert hrefs == [f"ann/{JUMP_LABEL}.html", f"bob/{JUMP_LABEL}.html"]
    for name in ("ann", "bob"):
        for ext in ("md", "html", "json"):
            assert (out / name / f"{JUMP_LABEL}.{ext}").is_file()
    ann = json.loads((out / "ann" / f"{JUMP_LABEL}.json").read_text())
    validate(ann)
    assert [a["athlete"] for a in ann["athletes"]] == ["ann"]
    # parallel and serial runs give the same documents
    serial = tmp_path / "serial"
    cli(tmp_path, "batch", str(coach), "--until", UNTIL, "--out-dir", str(serial), "--workers", "1")
    for name in ("ann", "bob"):
        p = f"{name}/{JUMP_LABEL}.json"
        assert json.loads((out / p).read_text()) == json.loads((serial / p).read_text())
        assert (out / p).read_bytes() == (serial / p).read_bytes()


def test_batch_csv_and_markdown_summaries(coach: Path, tmp_path: Path) -> None:
    csv_out = cli(tmp_path, "batch", str(coach), "--until", UNTIL, "-f", "csv").stdout.splitlines()
    assert csv_out[0].startswith("rank,athlete,week_start,status,last_run,severity")
    assert [row.split(",")[1] for row in csv_out[1:]] == ["ann", "bob"]
    md = cli(tmp_path, "batch", str(coach), "--until", UNTIL, "-f", "markdown").stdout
    assert "| 1 | ann | high |" in md


def test_batch_folder_without_athletes_is_a_usage_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "loose.fit").write_bytes(b"x")
    result = runner.invoke(app, ["batch", str(empty)])
    assert result.exit_code == 2
    assert "no athlete subfolders or .zip exports" in flat(result.output)


def test_batch_loose_files_are_a_warning_not_silence(coach: Path, tmp_path: Path) -> None:
    root = tmp_path / "c"
    shutil.copytree(coach, root)
    (root / "stray.fit").write_bytes(b"x")
    doc = json.loads(cli(tmp_path, "batch", str(root), "--until", UNTIL, "-f", "json").stdout)
    stray = str(root / "stray.fit")
    assert any("skipped" in w["message"] and w["path"] == stray for w in doc["warnings"])


def test_batch_accepts_zip_exports(coach: Path, tmp_path: Path) -> None:
    root = tmp_path / "zips"
    root.mkdir()
    with zipfile.ZipFile(root / "dora.zip", "w") as zf:
        for p in sorted((coach / "bob").iterdir()):
            zf.write(p, f"activities/{p.name}")
    doc = json.loads(cli(tmp_path, "batch", str(root), "--until", UNTIL, "-f", "json").stdout)
    (dora,) = doc["athletes"]
    assert dora["athlete"] == "dora" and len(dora["activities"]) == 12


# --- rules and cache -------------------------------------------------------------------


def test_rules_lists_the_catalogue() -> None:
    from kneeflags.rules.catalogue import RULES

    result = runner.invoke(app, ["rules"])
    assert result.exit_code == 0
    for rule in RULES:
        assert rule.id in result.stdout and rule.name in result.stdout
    for word in ("Thresholds:", "Why:", "Reference:", "ITBS", "PFPS"):
        assert word in result.stdout


def test_rules_json_and_config(tmp_path: Path) -> None:
    cfg = tmp_path / "kf.toml"
    cfg.write_text("[rules.volume-jump]\nwatch_pct = 12.5\n")
    result = runner.invoke(app, ["rules", "volume-jump", "-f", "json", "--config", str(cfg)])
    assert result.exit_code == 0
    (rule,) = json.loads(result.stdout)["rules"]
    assert rule["id"] == "volume-jump"
    assert any("12.5" in t for t in rule["thresholds"])
    md = runner.invoke(app, ["rules", "-f", "markdown"]).stdout
    assert md.startswith("# kneeflags rule catalogue")


def test_cache_info_and_clear(coach: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cli(tmp_path, "analyze", str(coach / "bob"))
    info = runner.invoke(app, ["cache", "info", "--cache-dir", str(cache)])
    assert info.exit_code == 0 and str(cache) in info.stdout
    cleared = runner.invoke(app, ["cache", "clear", "--cache-dir", str(cache)])
    assert cleared.exit_code == 0 and "cache cleared" in cleared.stdout


# --- escaping (issue 6) ----------------------------------------------------------------


def test_hostile_names_are_text_in_html_and_markdown(coach: Path, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    html_file = tmp_path / "r.html"
    md_file = tmp_path / "r.md"
    for fmt, out in (("html", html_file), ("markdown", md_file)):
        result = cli(
            tmp_path, "analyze", str(coach / "ann"), "--athlete", HOSTILE, "-f", fmt, "-o", str(out)
        )
        assert result.exit_code == 0, result.output
    html_text = html_file.read_text()
    root = ET.fromstring(html_text.encode())
    assert not [el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "script"]
    cells = ["".join(el.itertext()) for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "td"]
    assert HOSTILE in cells  # the GPX <name>, shown as text in the activities table
    assert HOSTILE in "".join(root.itertext())  # the athlete name in the heading
    md = md_file.read_text()
    assert "<script>" not in md
    assert "# kneeflags report: &lt;script\\>alert(1)&lt;/script\\>" in md


def test_library_log_warnings_do_not_break_silent_cron_runs(
    coach: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging

    import kneeflags.pipeline

    real = kneeflags.pipeline.run_pipeline

    def noisy(*args: object, **kwargs: object) -> object:
        logging.getLogger("somelibrary").warning("cache folder not writable, using /tmp")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(kneeflags.pipeline, "run_pipeline", noisy)
    out = tmp_path / "reports"
    args = ["report", str(coach / "bob"), "--out-dir", str(out), "--week", QUIET_LABEL]
    result = cli(tmp_path, *args)
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""
    debug = cli(tmp_path, *args, "--debug")
    assert "cache folder not writable" in debug.stderr
