"""Real runner histories from ../shared/corpus analysed end to end (ingest + analyze).

Weekly volumes are compared with MANIFEST.md's approximate figures, which sum per-file
distances by ISO week of the *UTC* start. Ours are local weeks, and sessions that ingest
classifies as something other than running (e.g. the x3cl FR910XT "generic" sessions,
~4 km/h) are not volume, so a few weeks differ by design: the test asks for broad agreement,
not equality.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

import kneeflags

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

pytestmark = pytest.mark.corpus

HISTORIES = [
    ("x3cl-running_page/history-2016-01_2017-04", "- x3cl history", 0.80),
    ("runpandas/session-nrc-gpx", "- runpandas NRC GPX", 0.95),
]


def _manifest_weeks(prefix: str) -> dict[str, float]:
    text = (CORPUS / "MANIFEST.md").read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith(prefix))
    return {week: float(km) for week, km in re.findall(r"(\d{4}-W\d\d) ([\d.]+)", line)}


@pytest.mark.parametrize(("folder", "prefix", "min_match"), HISTORIES, ids=["x3cl", "nrc"])
def test_history_weekly_volume_is_plausible(folder: str, prefix: str, min_match: float) -> None:
    path = CORPUS / folder
    if not path.is_dir():
        pytest.skip(f"corpus folder absent: {path}")
    loaded = kneeflags.load([str(path)], tz="UTC")
    assert loaded.activities, f"nothing loaded from {path}"
    analysis = kneeflags.analyze(loaded.activities, athlete=folder, timezone="UTC")
    weekly = analysis.weekly.with_columns(pl.col("week_start").dt.strftime("%G-W%V").alias("iso"))
    ours = dict(zip(weekly["iso"].to_list(), weekly["run_km"].to_list(), strict=True))
    expected = _manifest_weeks(prefix)

    total_expected = sum(expected.values())
    assert weekly["run_km"].sum() == pytest.approx(total_expected, rel=0.05)
    matching = [
        w for w, km in expected.items() if abs(ours.get(w, 0.0) - km) <= max(1.5, 0.15 * km)
    ]
    assert len(matching) >= min_match * len(expected), sorted(set(expected) - set(matching))
    # No running appears in weeks the manifest has none for (zero-filled gaps stay zero).
    assert not {w for w, km in ours.items() if km > 0} - set(expected)

    assert weekly["run_km"].min() >= 0 and weekly["run_km"].max() < 150
    assert weekly["week_start"].is_sorted() and weekly["week_start"].is_unique().all()
    runs = analysis.activities.filter(pl.col("is_running"))
    cad = runs["cadence_spm_median"].drop_nulls()
    assert cad.is_empty() or 140 <= cad.median() <= 200
    share = runs.select((pl.col("downhill_km") / pl.col("graded_km")).alias("s"))["s"]
    assert share.drop_nulls().is_between(0.0, 1.0).all()
    for flag in analysis.flags:
        assert flag.evidence and flag.advice and flag.reference


def test_x3cl_ultra_descent_matches_manifest() -> None:
    path = CORPUS / "x3cl-running_page" / "history-2016-01_2017-04" / "10579587.fit"
    if not path.is_file():
        pytest.skip(f"corpus file absent: {path}")
    (activity,) = kneeflags.load([str(path)]).activities
    row = kneeflags.analyze([activity]).activities.row(0, named=True)
    # MANIFEST: 96.7 km trail ultra with ~4800 m of ascent and descent.
    assert row["distance_km"] == pytest.approx(96.7, abs=1.0)
    assert row["elevation_loss_m"] == pytest.approx(4800, rel=0.15)
    assert 0.15 < row["downhill_km"] / row["graded_km"] < 0.5
    assert row["steep_km"] > 5


def test_nrc_history_matches_every_week() -> None:
    """Issue 11: the NRC history stays 41/41 (its 24 h GPX paused overnight is a real run)."""
    path = CORPUS / "runpandas" / "session-nrc-gpx"
    if not path.is_dir():
        pytest.skip(f"corpus folder absent: {path}")
    loaded = kneeflags.load([str(path)], tz="UTC")
    weekly = kneeflags.analyze(loaded.activities, timezone="UTC").weekly
    iso = weekly["week_start"].dt.strftime("%G-W%V").to_list()
    ours = dict(zip(iso, weekly["run_km"].to_list(), strict=True))
    expected = _manifest_weeks("- runpandas NRC GPX")
    assert len(expected) == 41
    off = {w: (ours.get(w), km) for w, km in expected.items() if abs(ours.get(w, 0.0) - km) > 0.1}
    assert off == {}
    assert not [w for w in loaded.warnings if "duplicate of" in w.message]
    (paused,) = [w for w in loaded.warnings if "looks like a recording left running" in w.message]
    assert paused.path.endswith("720bf570-d855-4303-87c2-74d85429e52d.gpx")
    assert "23 h 57 min at 0.3 m/s: looks like a recording left running: counted" in paused.message


def test_x3cl_sessions_are_classed_by_what_was_done() -> None:
    """Issue 11 on the real FR910XT history: the two evening ``generic`` sessions of about
    4.3 km at 6:00-6:15 /km are runs (2016-W11 was ~16 % short without them), the
    multi-hour mountain outings are hikes, the few-second "running" sessions are not runs,
    each with its provenance note, and the report counts them."""
    path = CORPUS / "x3cl-running_page" / "history-2016-01_2017-04"
    if not path.is_dir():
        pytest.skip(f"corpus folder absent: {path}")
    loaded = kneeflags.load([str(path)], tz="UTC")
    moved = sorted(
        (
            Path(a.source.path).name,
            a.start_utc.strftime("%Y-%m-%d %H:%M"),
            a.provenance.reclassified_from,
            a.sport.value,
        )
        for a in loaded.activities
        if a.provenance.reclassified_from
    )
    assert moved == [
        ("716042.fit", "2016-01-31 01:37", "generic", "hiking"),
        ("716042.fit", "2016-01-31 01:37", "running", "other"),
        ("716720.fit", "2016-03-06 02:41", "generic", "hiking"),
        ("716720.fit", "2016-03-06 02:41", "running", "other"),
        ("716980.fit", "2016-03-17 12:50", "generic", "running"),
        ("717033.fit", "2016-03-18 12:35", "generic", "running"),
        ("717033.fit", "2016-03-18 13:00", "running", "other"),
    ]
    notes = {
        Path(a.source.path).name + a.sport.value: a.provenance.classification
        for a in loaded.activities
        if a.provenance.reclassified_from == "generic"
    }
    assert notes["716980.fitrunning"] == (
        "generic/generic session classed as running (pace 6:15 /km, median moving 7:17 /km, "
        "no cadence, 27 min)"
    )
    assert "1643 m of descent" in notes["716720.fithiking"]
    analysis = kneeflags.analyze(loaded.activities, timezone="UTC")
    weekly = analysis.weekly.with_columns(pl.col("week_start").dt.strftime("%G-W%V").alias("iso"))
    w11 = weekly.filter(pl.col("iso") == "2016-W11").row(0, named=True)
    # the manifest's 43.7 km of labelled runs plus the two generic runs (4.32 + 4.22 km)
    assert w11["run_km"] == pytest.approx(43.7 + 4.32 + 4.222, abs=0.1)
    w09 = weekly.filter(pl.col("iso") == "2016-W09").row(0, named=True)
    assert w09["hike_minutes"] == pytest.approx(246.0, abs=1.0)  # information, never a flag
    assert w09["descent_on_foot_m"] > 1000
    assert analysis.notes[0].startswith(
        "7 sessions were reclassified by pace, cadence and duration (2 generic → hiking, "
        "2 generic → running, 3 running → other)"
    )
