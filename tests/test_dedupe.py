"""The same run recorded twice counts once; the richer record is kept and the drop reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import kneeflags
from kneeflags.dedupe import dedupe
from kneeflags.model import Activity, Provenance, SourceRef, Sport, empty_samples

START = datetime(2024, 5, 4, 7, 0, tzinfo=UTC)


def act(
    path: str,
    fmt: str = "gpx",
    start: datetime = START,
    dist: float | None = 10_000.0,
    elapsed: float = 3000.0,
    part: int = 0,
) -> Activity:
    return Activity(
        source=SourceRef(path),
        sha256=path,
        format=fmt,  # type: ignore[arg-type]
        sport=Sport.RUNNING,
        start_utc=start,
        samples=empty_samples(),
        distance_m=dist,
        elapsed_s=elapsed,
        part=part,
        provenance=Provenance(),
    )


def test_fit_and_gpx_of_same_run_load_once_with_warning(tmp_path: Path, make_fit, make_gpx) -> None:
    (tmp_path / "watch.fit").write_bytes(make_fit(START, n=600))
    # phone started 40 s later, 1.5 % shorter
    (tmp_path / "phone.gpx").write_text(make_gpx(START + timedelta(seconds=40), n=591, speed=3.0))
    res = kneeflags.load([tmp_path], decoder="fitparse")
    (kept,) = res.activities
    assert kept.format == "fit"
    (w,) = res.warnings
    assert w.kind == "warning"
    assert w.path == str(tmp_path / "phone.gpx")
    assert str(tmp_path / "watch.fit") in w.message
    assert "counted once" in w.message and "FIT" in w.message


def test_richness_order_fit_tcx_gpx() -> None:
    kept, warns = dedupe([act("a.gpx"), act("b.tcx", "tcx"), act("c.fit", "fit")])
    assert [a.format for a in kept] == ["fit"]
    assert sorted(w.path for w in warns) == ["a.gpx", "b.tcx"]


def test_same_format_keeps_more_samples() -> None:
    import polars as pl

    from kneeflags.model import conform_samples

    rich = act("rich.gpx")
    rich.samples = conform_samples(
        pl.DataFrame({"timestamp": [START + timedelta(seconds=i) for i in range(5)]})
    )
    poor = act("poor.gpx")
    poor.samples = conform_samples(
        pl.DataFrame({"timestamp": [START + timedelta(seconds=i) for i in range(3)]})
    )
    kept, _ = dedupe([poor, rich])
    assert [str(a.source) for a in kept] == ["rich.gpx"]


def test_not_duplicates_when_spans_overlap_less_than_half() -> None:
    # 5 h later; then a 10-minute recording that overlaps 40 % of itself with a run
    later = act("c.gpx", dist=10_600.0, start=START + timedelta(hours=5))
    short = act("d.gpx", dist=2_000.0, elapsed=600.0, start=START + timedelta(seconds=2760))
    kept, warns = dedupe([act("a.gpx"), later, short])
    assert len(kept) == 3 and warns == []


def test_start_gap_beyond_two_minutes_still_one_outing() -> None:
    # the phone started 160 s before the watch; the spans overlap 95 % of the shorter
    phone = act("phone.gpx", start=START - timedelta(seconds=160), elapsed=3160.0)
    kept, warns = dedupe([act("watch.fit", "fit"), phone])
    assert [a.format for a in kept] == ["fit"]
    assert "starts 160 s apart" in warns[0].message


def test_distance_within_five_percent_matches() -> None:
    kept, warns = dedupe([act("a.fit", "fit"), act("b.gpx", dist=10_490.0)])
    assert len(kept) == 1 and len(warns) == 1


def test_contained_recording_matches_despite_distance() -> None:
    # phone stopped early: 5.3 km inside a 7.0 km watch recording that started together
    watch = act("w.tcx", "tcx", dist=7000.0, elapsed=2500.0)
    phone = act("p.gpx", dist=5300.0, elapsed=1830.0, start=START + timedelta(seconds=5))
    kept, warns = dedupe([phone, watch])
    assert [a.format for a in kept] == ["tcx"]
    assert "lies within the other" in warns[0].message


def test_sessions_of_one_file_are_never_merged() -> None:
    a = act("multi.fit", "fit", part=0)
    b = act("multi.fit", "fit", part=1, start=START + timedelta(seconds=30))
    kept, warns = dedupe([a, b])
    assert len(kept) == 2 and warns == []
