"""Inputs: folders, globs, ~, gzip and zip exports (Strava, Garmin), caps and hostile names."""

from __future__ import annotations

import gzip
import io
import os
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import kneeflags
from kneeflags import sources
from kneeflags.model import SourceRef, Sport
from kneeflags.parsers import gunzip_capped, parse_source
from kneeflags.sources import iter_sources

START = datetime(2024, 5, 4, 7, 0, tzinfo=UTC)


def load(paths, **kw):
    kw.setdefault("decoder", "fitparse")
    return kneeflags.load(paths, **kw)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def day(n: int) -> datetime:
    return START + timedelta(days=n)


# --------------------------------------------------------------------------- paths


def test_directory_is_walked_recursively_and_sorted(tmp_path: Path, make_fit, make_gpx) -> None:
    (tmp_path / "b" / "deep").mkdir(parents=True)
    (tmp_path / "b" / "deep" / "z.fit").write_bytes(make_fit(day(0)))
    (tmp_path / "a.gpx").write_text(make_gpx(day(1)))
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    (tmp_path / "meta.json").write_text("{}")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    refs = [str(i.ref) for i in iter_sources([tmp_path])]
    assert refs == [
        str(tmp_path / "a.gpx"),
        str(tmp_path / "meta.json"),
        str(tmp_path / "notes.csv"),
        str(tmp_path / "photo.png"),
        str(tmp_path / "b" / "deep" / "z.fit"),
    ]
    res = load([tmp_path])
    assert [a.format for a in res.activities] == ["fit", "gpx"]  # sorted by start
    assert res.errors == []
    assert sorted(Path(s.path).name for s in res.skipped) == ["meta.json", "notes.csv", "photo.png"]


def test_quoted_recursive_glob_and_tilde(tmp_path: Path, make_fit, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "runs" / "2024" / "05").mkdir(parents=True)
    (tmp_path / "runs" / "2024" / "05" / "x.fit").write_bytes(make_fit(day(0)))
    (tmp_path / "runs" / "y.fit").write_bytes(make_fit(day(1)))
    (tmp_path / "runs" / "y.gpx").write_text("not used")
    res = load(["~/runs/**/*.fit"])
    assert len(res.activities) == 2 and res.problems == []


def test_missing_path_and_empty_pattern_are_errors(tmp_path: Path) -> None:
    res = load([tmp_path / "nope.fit", str(tmp_path / "*.fit")])
    assert [e.message for e in res.errors] == [
        "no such file or directory",
        "no files match this pattern",
    ]


def test_same_file_twice_is_read_once(tmp_path: Path, make_fit) -> None:
    f = tmp_path / "x.fit"
    f.write_bytes(make_fit(START))
    res = load([f, tmp_path, str(tmp_path / "*.fit")])
    assert len(res.activities) == 1 and res.warnings == []


def test_format_decided_by_content_not_extension(tmp_path: Path, make_fit, make_gpx) -> None:
    (tmp_path / "watch.dat").write_bytes(make_fit(day(0)))
    (tmp_path / "track.xml").write_text(make_gpx(day(1)))
    (tmp_path / "broken.fit").write_text("hello")
    (tmp_path / "empty.gpx").write_bytes(b"")
    res = load([tmp_path])
    assert [a.format for a in res.activities] == ["fit", "gpx"]
    msgs = {Path(e.path).name: e.message for e in res.errors}
    assert msgs["broken.fit"].startswith("not a valid FIT file")
    assert msgs["empty.gpx"] == "empty file"


def test_progress_is_reported_per_item(tmp_path: Path, make_fit) -> None:
    for i in range(3):
        (tmp_path / f"{i}.fit").write_bytes(make_fit(day(i)))
    calls: list[tuple[int, int]] = []
    load([tmp_path], progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_bad_tz_or_decoder_raise_valueerror(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        kneeflags.load([tmp_path], tz="Mars/Olympus")
    with pytest.raises(ValueError, match="unknown decoder"):
        kneeflags.load([tmp_path], decoder="magic")


# --------------------------------------------------------------------------- gzip


@pytest.mark.parametrize("kind", ["fit", "gpx", "tcx"])
def test_gzipped_files(tmp_path: Path, make_fit, make_gpx, make_tcx, kind: str) -> None:
    raw = {
        "fit": make_fit(START),
        "gpx": make_gpx(START).encode(),
        "tcx": make_tcx(START).encode(),
    }[kind]
    f = tmp_path / f"a.{kind}.gz"
    f.write_bytes(gzip.compress(raw))
    res = load([f])
    (act,) = res.activities
    assert act.format == kind and str(act.source) == str(f)
    assert res.problems == []


def test_gzip_bomb_is_capped() -> None:
    bomb = gzip.compress(b"\x00" * (4 * 1024 * 1024))
    with pytest.raises(ValueError, match="cap"):
        gunzip_capped(bomb, cap=1024 * 1024)


def test_gzip_bomb_through_parse_source(monkeypatch) -> None:
    import kneeflags.parsers as parsers

    monkeypatch.setattr(parsers, "MAX_DECOMPRESSED_BYTES", 1024 * 1024)
    res = parse_source(gzip.compress(b"\x00" * (3 * 1024 * 1024)), SourceRef("x.fit.gz"))
    assert res.activities == []
    assert "gzip bomb" in res.errors[0].message


def test_truncated_gzip_keeps_what_decompresses(make_fit) -> None:
    data = gzip.compress(make_fit(START, n=600))
    res = parse_source(data[: len(data) - 200], SourceRef("x.fit.gz"), decoder="fitparse")
    assert res.warnings[0].message.startswith("truncated gzip stream")
    assert len(res.activities) == 1 and res.activities[0].provenance.partial


def test_corrupt_gzip_is_an_error() -> None:
    res = parse_source(b"\x1f\x8b\x08\x00garbage-garbage", SourceRef("x.gpx.gz"))
    assert res.activities == [] and res.errors[0].message.startswith("corrupt gzip data")


# --------------------------------------------------------------------------- zip


def strava_export(make_fit, make_gpx) -> bytes:
    csv = (
        "Activity ID,Activity Date,Activity Name,Activity Type,Filename\n"
        '1,"May 4, 2024",Lunch Run,Run,activities/1.gpx\n'
        '2,"May 5, 2024",Long one,Run,activities/2.fit.gz\n'
        '3,"May 6, 2024",Commute,Ride,activities/3.gpx.gz\n'
    )
    return zip_bytes(
        {
            "activities.csv": csv.encode(),
            # no <type> and no name in the GPX: the CSV supplies both
            "activities/1.gpx": make_gpx(day(0), sport=None, name=None, speed=1.5).encode(),
            "activities/2.fit.gz": gzip.compress(make_fit(day(1))),
            "activities/3.gpx.gz": gzip.compress(
                make_gpx(day(2), sport=None, name=None, cadence=None).encode()
            ),
            "routes/r1.gpx": b"<gpx/>",
            "media/p.jpg": b"\xff\xd8\xff\xe0" + b"\x00" * 20,
            "profile.csv": b"a,b\n",
        }
    )


def test_strava_export_zip(tmp_path: Path, make_fit, make_gpx) -> None:
    z = tmp_path / "export_123.zip"
    z.write_bytes(strava_export(make_fit, make_gpx))
    res = load([z])
    acts = res.activities
    assert [str(a.source) for a in acts] == [
        f"{z}!activities/1.gpx",
        f"{z}!activities/2.fit.gz",
        f"{z}!activities/3.gpx.gz",
    ]
    assert acts[0].sport is Sport.RUNNING  # from the CSV, though the track is slow
    assert acts[0].name == "Lunch Run"
    assert acts[1].name == "Long one" and acts[1].sport is Sport.RUNNING
    assert acts[2].sport is Sport.CYCLING and acts[2].name == "Commute"
    skipped = {s.path.split("!")[-1]: s.reason for s in res.skipped}
    assert "route" in skipped["routes/r1.gpx"].lower()
    assert set(skipped) == {"activities.csv", "routes/r1.gpx", "media/p.jpg", "profile.csv"}
    assert res.errors == []


def test_unpacked_strava_folder_uses_csv_hints(tmp_path: Path, make_fit, make_gpx) -> None:
    with zipfile.ZipFile(io.BytesIO(strava_export(make_fit, make_gpx))) as zf:
        zf.extractall(tmp_path)  # the test's own data; the library never extracts
    res = load([tmp_path])
    assert [a.name for a in res.activities] == ["Lunch Run", "Long one", "Commute"]
    assert any("routes" in s.path for s in res.skipped)


def test_garmin_export_with_nested_uploaded_files_zip(tmp_path: Path, make_fit) -> None:
    inner = zip_bytes(
        {
            "a_activity.fit": make_fit(day(0)),
            "b_monitor.fit": make_fit(day(0), file_type="MONITORING_B"),
            "c_settings.fit": make_fit(day(0), file_type="SETTINGS"),
            "d_run.fit": make_fit(day(3)),
        }
    )
    outer = zip_bytes(
        {
            "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip": inner,
            "DI_CONNECT/DI-Connect-Fitness/summary.json": b"[]",
        }
    )
    z = tmp_path / "garmin.zip"
    z.write_bytes(outer)
    res = load([z])
    prefix = f"{z}!DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip!"
    assert [str(a.source) for a in res.activities] == [
        prefix + "a_activity.fit",
        prefix + "d_run.fit",
    ]
    assert sorted(s.path for s in res.skipped) == sorted(
        [
            f"{z}!DI_CONNECT/DI-Connect-Fitness/summary.json",
            prefix + "b_monitor.fit",
            prefix + "c_settings.fit",
        ]
    )
    assert res.errors == []


def test_hostile_member_names_are_only_names(tmp_path: Path, make_fit) -> None:
    work = tmp_path / "w"
    work.mkdir()
    z = work / "evil.zip"
    z.write_bytes(zip_bytes({"../../escape.fit": make_fit(day(0)), "/abs/x.fit": make_fit(day(1))}))
    before = set(tmp_path.rglob("*"))
    res = load([z])
    assert len(res.activities) == 2
    assert set(tmp_path.rglob("*")) == before  # nothing written anywhere
    assert str(res.activities[0].source).endswith("!../../escape.fit")


def test_zip_member_size_and_count_caps(tmp_path: Path, make_fit, monkeypatch) -> None:
    monkeypatch.setattr(sources, "MAX_ZIP_MEMBERS", 3)
    members = {f"{i}.fit": make_fit(day(i)) for i in range(5)}
    members["big.gpx"] = b" " * 5000
    z = tmp_path / "many.zip"
    z.write_bytes(zip_bytes(members))
    res = load([z])
    assert len(res.activities) == 3
    assert "only the first 3" in res.errors[0].message
    monkeypatch.setattr(sources, "MAX_ZIP_MEMBERS", 50)
    monkeypatch.setattr(sources, "MAX_MEMBER_BYTES", 4000)
    res = load([z])
    big = [e for e in res.errors if e.path.endswith("big.gpx")]
    assert big and "over the 4,000 byte cap" in big[0].message


def test_zip_inside_gzip_and_fit_zip(tmp_path: Path, make_fit) -> None:
    f = tmp_path / "run.fit.zip"
    f.write_bytes(zip_bytes({"run.fit": make_fit(START)}))
    g = tmp_path / "bundle.zip.gz"
    g.write_bytes(gzip.compress(zip_bytes({"x.fit": make_fit(day(1))})))
    res = load([f, g])
    assert [str(a.source) for a in res.activities] == [f"{f}!run.fit", f"{g}!x.fit"]


def test_corrupt_zip_is_one_error(tmp_path: Path) -> None:
    z = tmp_path / "bad.zip"
    z.write_bytes(b"PK\x03\x04" + os.urandom(64))
    res = load([z])
    assert res.activities == [] and len(res.errors) == 1
    assert res.errors[0].path == str(z)


def test_one_bad_file_does_not_stop_the_others(tmp_path: Path, make_fit) -> None:
    good = make_fit(START)
    (tmp_path / "1.fit").write_bytes(good[: len(good) // 3])
    (tmp_path / "2.fit").write_bytes(b"\x0e\x10junkjunk.FITjunk")
    (tmp_path / "3.fit").write_bytes(good)
    res = load([tmp_path])
    assert any(a.source.path.endswith("3.fit") for a in res.activities)
    assert all(p.path.startswith(str(tmp_path)) for p in res.problems)


def test_items_and_results_survive_pickling(tmp_path: Path, make_fit) -> None:
    """Items and per-item results can cross a process boundary (parallel runners)."""
    import pickle

    from kneeflags.ingest import finalize, load_item

    z = tmp_path / "e.zip"
    z.write_bytes(zip_bytes({"inner.zip": zip_bytes({"a.fit": make_fit(START)})}))
    (item,) = list(iter_sources([z]))
    clone = pickle.loads(pickle.dumps(item))
    assert clone == item and clone.read() == item.read()
    res = pickle.loads(pickle.dumps(load_item(clone, decoder="fitparse")))
    final = finalize([res])
    assert [str(a.source) for a in final.activities] == [f"{z}!inner.zip!a.fit"]
    assert final.activities[0].samples.equals(res.activities[0].samples)


def test_strava_csv_type_fills_a_fit_sport_lost_with_its_session(make_fit) -> None:
    data = make_fit(START, n=300)
    cut = data[: len(data) // 2]  # session message lost
    hints = {"type": "Run", "name": "Cut short"}
    res = parse_source(cut, SourceRef("e.zip", "activities/9.fit"), decoder="fitparse", hints=hints)
    (act,) = res.activities
    assert act.sport is Sport.RUNNING and act.name == "Cut short"
    assert act.provenance.partial
    assert act.samples["cadence_spm"].unique().to_list() == [163.0]
    assert act.provenance.cadence_unit == "strides"


def test_a_folder_holding_a_report_folder_is_still_read(tmp_path: Path) -> None:
    """Only kneeflags' own report folders are passed over, never the folder around them:
    a year folder holding runs and an old report folder keeps its runs."""
    year = tmp_path / "data" / "2024"
    (year / "rep").mkdir(parents=True)
    (year / "rep" / sources.REPORT_FOLDER_MARK).write_text("ann\n")
    (year / "rep" / "2024-W10.json").write_text("{}")
    (year / "run.gpx").write_text("<gpx/>")
    (tmp_path / "data" / "top.gpx").write_text("<gpx/>")
    read = sorted(os.path.basename(i.ref.path) for i in sources.iter_sources([tmp_path / "data"]))
    assert read == ["run.gpx", "top.gpx"]


def test_a_file_read_past_its_stat_size_up_to_the_cap(tmp_path: Path, monkeypatch) -> None:
    """The read asks for the size fstat gave; content beyond it (a file still being written,
    a /proc-like file that reports 0) is read on to the cap, and past the cap refused."""
    f = tmp_path / "growing.gpx"
    f.write_bytes(b"x" * 3000)
    real_fstat = os.fstat

    class Shrunk:
        def __init__(self, st: os.stat_result) -> None:
            self.st_mode, self.st_size = st.st_mode, 100

    monkeypatch.setattr(sources.os, "fstat", lambda fd: Shrunk(real_fstat(fd)))
    assert sources._read_capped_file(str(f)) == b"x" * 3000
    monkeypatch.setattr(sources, "MAX_MEMBER_BYTES", 2000)
    with pytest.raises(sources.SourceTooLarge, match="grew beyond"):
        sources._read_capped_file(str(f))


def test_real_paths_resolve_as_realpath_with_one_lookup_per_folder(tmp_path, monkeypatch):
    """The walk's de-duplication key (issue 15: one resolution per folder, not per file)
    equals ``os.path.realpath`` for plain files, linked files, linked folders, ``..`` and
    relative paths, so a file named twice (directly and through a link) is read once."""
    from kneeflags.sources import _RealPaths

    (tmp_path / "runs" / "2024").mkdir(parents=True)
    run = tmp_path / "runs" / "2024" / "a.fit"
    run.write_bytes(b"x")
    (tmp_path / "link_dir").symlink_to(tmp_path / "runs")
    (tmp_path / "runs" / "2024" / "b.fit").symlink_to(run)
    (tmp_path / "dangling.fit").symlink_to(tmp_path / "missing.fit")
    monkeypatch.chdir(tmp_path)
    paths = [
        str(run),
        str(tmp_path / "link_dir" / "2024" / "a.fit"),
        str(tmp_path / "runs" / "2024" / "b.fit"),
        str(tmp_path / "runs" / "2024" / ".." / "2024" / "a.fit"),
        "runs/2024/a.fit",
        "a.fit",
        str(tmp_path / "dangling.fit"),
        str(tmp_path / "no-such-folder" / "x.fit"),
        str(tmp_path / "runs" / ".."),
    ]
    real = _RealPaths()
    for p in paths:
        assert real(p) == os.path.realpath(p), p
    assert len(list(iter_sources([str(tmp_path / "runs"), str(tmp_path / "link_dir")]))) == 1
