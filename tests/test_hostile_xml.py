"""Hostile GPX and TCX through the whole command line (issue 6), and escaping of their text.

XML from strangers is refused before any parser expands it (no DTD, no entities, no
external references), so neither an entity bomb nor ``file:///etc/passwd`` gets in: a
canary file with a random token sits next to the inputs and the token must appear in no
output. Data that parses but makes no sense (no timestamps, one point, time running
backwards, coordinates off the globe) is named in the report, and the good files around
it are analysed as usual.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hostile import (
    EXIT_INPUT,
    EXIT_OK,
    START,
    CliRun,
    Sandbox,
    alarm_fixture,
    analyze_json,
    chdir,
    fit_run,
    gpx_doc,
    gpx_points,
    run_cli,
    tcx_doc,
)

_hang_guard = alarm_fixture(60)

GOOD = ("in/good-a.fit", "in/good-b.gpx")
SCRIPT = "<script>alert(1)</script>"
WEEK = "{}-W{:02d}".format(*START.isocalendar()[:2])


def _box(root: Path, name: str, victim: bytes | str) -> Sandbox:
    box = Sandbox(root)
    box.put("good-a.fit", fit_run(0, seed=1))
    box.put("good-b.gpx", gpx_doc(gpx_points(2, 600)))
    box.put(name, victim)
    box.freeze()
    return box


def _analyze(box: Sandbox) -> CliRun:
    run = analyze_json(box)
    box.verify()
    return run


def _messages(run: CliRun, path: str) -> str:
    return " | ".join(p["message"] for p in run.problems() if p["path"] == path)


# --- not XML, bombs, external entities ---------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        b"this is not XML at all, just words in a .gpx file\n",
        b"\x00\x01\x02\xff\xfe binary junk" * 50,
        b'<?xml version="1.0"?><gpx version="1.1"><trk><trkseg><trkpt lat="1"',
        b"<gpx><trk></gpx></trk>",
        "<gpx>\u2603 \ud83c\udfc3</gpx".encode("utf-8", "surrogatepass"),
    ],
    ids=["words", "binary", "cut-off", "mis-nested", "bad-utf8"],
)
def test_gpx_that_is_not_xml(tmp_path: Path, payload: bytes) -> None:
    box = _box(tmp_path, "bad.gpx", payload)
    run = _analyze(box)
    run.check(good=GOOD, bad=["in/bad.gpx"], bad_in="errors", codes={EXIT_INPUT})


def _billion_laughs(levels: int = 10) -> str:
    ents = ['<!ENTITY lol0 "lol">']
    ents += [
        f'<!ENTITY lol{i} "{"".join(f"&lol{i - 1};" for _ in range(10))}">'
        for i in range(1, levels)
    ]
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE gpx [{"".join(ents)}]>\n'
        f'<gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><name>&lol{levels - 1};</name><trkseg>"
        '<trkpt lat="47.3" lon="8.5"><time>2025-03-07T07:00:00Z</time></trkpt>'
        "</trkseg></trk></gpx>\n"
    )


def _quadratic_blowup() -> str:
    """One 50 kB entity referenced 50,000 times: no nesting, still 2.5 GB expanded."""
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE gpx [<!ENTITY a "{"x" * 50_000}">]>\n'
        f'<gpx version="1.1" creator="x"><trk><name>{"&a;" * 50_000}</name></trk></gpx>\n'
    )


@pytest.mark.parametrize("kind", ["gpx", "tcx"])
@pytest.mark.parametrize("bomb", ["billion-laughs", "quadratic"])
def test_entity_expansion_bombs_are_refused_quickly(tmp_path: Path, kind: str, bomb: str) -> None:
    text = _billion_laughs() if bomb == "billion-laughs" else _quadratic_blowup()
    if kind == "tcx":
        text = text.replace("gpx", "TrainingCenterDatabase")
    box = _box(tmp_path, f"bomb.{kind}", text)
    run = analyze_json(box, None, timeout=20)
    box.verify()
    run.check(good=GOOD, bad=[f"in/bomb.{kind}"], bad_in="errors", codes={EXIT_INPUT})
    assert "lollol" not in run.stdout + run.stderr
    if bomb == "billion-laughs":  # (the quadratic one hides its root past the sniffed head)
        assert "DTD" in _messages(run, f"in/bomb.{kind}")


def _xxe_variants(canary: Path) -> dict[str, str]:
    url = canary.resolve().as_uri()
    body = (
        '<gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1">'
        "<trk><name>{name}</name><type>running</type><trkseg>"
        + "".join(
            f'<trkpt lat="{47.3 + i * 3e-5:.6f}" lon="8.5"><time>'
            f"{(START + timedelta(days=5, seconds=i)).strftime('%Y-%m-%dT%H:%M:%SZ')}"
            "</time></trkpt>"
            for i in range(120)
        )
        + "</trkseg></trk></gpx>\n"
    )
    return {
        "entity": f'<?xml version="1.0"?>\n<!DOCTYPE gpx [<!ENTITY xxe SYSTEM "{url}">]>\n'
        + body.format(name="&xxe;"),
        "etc-passwd": '<?xml version="1.0"?>\n'
        '<!DOCTYPE gpx [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n' + body.format(name="&xxe;"),
        "parameter": f'<?xml version="1.0"?>\n<!DOCTYPE gpx [<!ENTITY % p SYSTEM "{url}"> %p;]>\n'
        + body.format(name="x"),
        "external-dtd": f'<?xml version="1.0"?>\n<!DOCTYPE gpx SYSTEM "{url}">\n'
        + body.format(name="x"),
        "xinclude": body.format(
            name=f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{url}" '
            'parse="text"/>'
        ),
    }


@pytest.mark.parametrize("variant", ["entity", "etc-passwd", "parameter", "external-dtd"])
@pytest.mark.parametrize("kind", ["gpx", "tcx"])
def test_external_entities_are_never_read(tmp_path: Path, variant: str, kind: str) -> None:
    """A canary's secret must reach no output: not the JSON, the Markdown, the HTML, stderr."""
    secret = f"CANARY-{secrets.token_hex(8)}"
    canary = tmp_path / "canary.txt"
    canary.write_text(secret + "\n")
    text = _xxe_variants(canary)[variant]
    if kind == "tcx":
        text = (
            text.replace("<gpx", "<TrainingCenterDatabase")
            .replace("</gpx>", "</TrainingCenterDatabase>")
            .replace("DOCTYPE gpx", "DOCTYPE TrainingCenterDatabase")
        )
    box = _box(tmp_path, f"xxe.{kind}", text)
    run = _analyze(box)
    run.check(good=GOOD, bad=[f"in/xxe.{kind}"], bad_in="errors", codes={EXIT_INPUT})
    with chdir(box.root):
        cron = run_cli(
            ["report", "in", "--out-dir", "out/reports", "--week", WEEK, "--cache-dir", "cache"]
        )
    box.verify()
    cron.no_traceback()
    assert cron.code == EXIT_INPUT
    outputs = [run.stdout, run.stderr, cron.stdout, cron.stderr]
    outputs += [p.read_text(errors="replace") for p in box.out.rglob("*") if p.is_file()]
    assert len(outputs) >= 7  # json + md + html + json written
    for text_out in outputs:
        assert secret not in text_out
        assert "root:x:0:0" not in text_out


def test_xinclude_is_not_processed(tmp_path: Path) -> None:
    """XInclude is not a DTD feature: the document is read, the include stays unexpanded."""
    secret = f"CANARY-{secrets.token_hex(8)}"
    canary = tmp_path / "canary.txt"
    canary.write_text(secret + "\n")
    box = _box(tmp_path, "xinc.gpx", _xxe_variants(canary)["xinclude"])
    run = _analyze(box)
    run.check(good=(*GOOD, "in/xinc.gpx"))
    assert secret not in (box.out / "report.json").read_text()


# --- data that parses but makes no sense -------------------------------------------------


def test_gpx_without_timestamps_is_named(tmp_path: Path) -> None:
    pts = [(lat, lon, ele, None) for lat, lon, ele, _ in gpx_points(5, 300)]
    box = _box(tmp_path, "route.gpx", gpx_doc(pts))
    run = _analyze(box)
    run.check(good=GOOD, bad=["in/route.gpx"])
    assert "timestamp" in _messages(run, "in/route.gpx")
    assert "in/route.gpx" not in run.sources()


def test_gpx_with_a_single_point_is_named(tmp_path: Path) -> None:
    box = _box(tmp_path, "one.gpx", gpx_doc(gpx_points(5, 1)))
    run = _analyze(box)
    run.check(good=GOOD, bad=["in/one.gpx"])
    assert "one" in _messages(run, "in/one.gpx").lower() or "single" in _messages(run, "in/one.gpx")


def test_gpx_with_timestamps_going_backwards_is_named(tmp_path: Path) -> None:
    pts = gpx_points(5, 600)
    times = [t for *_, t in pts][::-1]
    backwards = [(a, b, c, t) for (a, b, c, _), t in zip(pts, times, strict=True)]
    box = _box(tmp_path, "back.gpx", gpx_doc(backwards))
    run = _analyze(box)
    run.check(good=GOOD, bad=["in/back.gpx"])
    assert "backwards" in _messages(run, "in/back.gpx")


def test_gpx_with_repeated_timestamps_is_named(tmp_path: Path) -> None:
    pts = gpx_points(5, 600)
    t0 = pts[0][3]
    assert isinstance(t0, datetime)
    stuck = [(a, b, c, t0 + timedelta(seconds=i // 10)) for i, (a, b, c, _) in enumerate(pts)]
    box = _box(tmp_path, "stuck.gpx", gpx_doc(stuck))
    run = _analyze(box)
    run.check(good=GOOD, bad=["in/stuck.gpx"])
    assert "repeat" in _messages(run, "in/stuck.gpx")


@pytest.mark.parametrize("case", ["off-the-globe", "teleporting", "not-a-number"])
def test_gpx_with_absurd_coordinates_is_named_and_does_not_poison_the_totals(
    tmp_path: Path, case: str
) -> None:
    pts = gpx_points(5, 600)
    if case == "off-the-globe":
        bad = [(91.0 + i, 200.0 + i, 1e9, t) for i, (*_, t) in enumerate(pts)]
    elif case == "teleporting":
        bad = [
            ((89.9, 179.9) if i % 2 else (-89.9, -179.9)) + (1e6 * (-1) ** i, t)
            for i, (*_, t) in enumerate(pts)
        ]
    else:
        bad = [("nan", "inf", "nan", t) for *_, t in pts]
    box = _box(tmp_path, "absurd.gpx", gpx_doc(bad))  # type: ignore[arg-type]
    run = _analyze(box)
    run.check(good=GOOD, bad=["in/absurd.gpx"])
    assert run.doc is not None
    weeks = run.doc["athletes"][0]["weeks"]
    total_km = sum(w["run_km"] or 0 for w in weeks)
    assert total_km < 20, f"absurd positions became {total_km:,.0f} km of running"


def test_gpx_dated_far_in_the_future_is_named(tmp_path: Path) -> None:
    pts = gpx_points(5, 120)
    future = [
        (a, b, c, datetime(9999, 12, 31, 23, 57, tzinfo=UTC) + timedelta(seconds=i))
        for i, (a, b, c, _) in enumerate(pts)
    ]
    box = _box(tmp_path, "future.gpx", gpx_doc(future))
    run = _analyze(box)
    run.check(good=GOOD, bad=["in/future.gpx"])


def test_a_future_dated_file_does_not_hijack_the_report_window(tmp_path: Path) -> None:
    pts = gpx_points(5, 120)
    future = [
        (a, b, c, datetime(2099, 6, 1, 7, tzinfo=UTC) + timedelta(seconds=i))
        for i, (a, b, c, _) in enumerate(pts)
    ]
    box = _box(tmp_path, "future.gpx", gpx_doc(future))
    run = _analyze(box)
    run.check(good=GOOD, bad=["in/future.gpx"])


# --- TCX ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lead", ["\n\n", "   \t  ", "\ufeff", "\ufeff\r\n  \n"])
def test_tcx_with_leading_whitespace_is_read(tmp_path: Path, lead: str) -> None:
    box = _box(tmp_path, "lead.tcx", tcx_doc(5, 300, lead=lead))
    run = _analyze(box)
    run.check(good=(*GOOD, "in/lead.tcx"), codes={EXIT_OK})
    assert not run.problems()


def test_tcx_that_is_not_xml(tmp_path: Path) -> None:
    box = _box(tmp_path, "bad.tcx", b"\n\n<TrainingCenterDatabase><Activities><Activity")
    run = _analyze(box)
    run.check(good=GOOD, bad=["in/bad.tcx"], bad_in="errors", codes={EXIT_INPUT})


# --- escaping ----------------------------------------------------------------------------


def _escaping_box(root: Path) -> Sandbox:
    box = Sandbox(root)
    box.put("good-a.fit", fit_run(0, seed=1))
    esc = SCRIPT.replace("<", "&lt;").replace(">", "&gt;")
    box.put("named.gpx", gpx_doc(gpx_points(2, 600), name=esc))
    box.put("cdata.gpx", gpx_doc(gpx_points(3, 600), name=f"<![CDATA[{SCRIPT}]]>"))
    box.put("quote.gpx", gpx_doc(gpx_points(4, 600), name='x" onmouseover="alert(2)'))
    # hostile *file names* (broken files, so they are listed under "Not used")
    box.put(f"{SCRIPT.replace('/', '_')}.gpx", b"not a gpx")
    box.put(f"`{SCRIPT.replace('/', '_')}`.gpx", b"not a gpx either")
    box.freeze()
    return box


def test_text_from_files_is_escaped_in_html_and_markdown(tmp_path: Path) -> None:
    box = _escaping_box(tmp_path)
    with chdir(box.root):
        run = run_cli(["report", "in", "--out-dir", "out", "--week", WEEK, "--cache-dir", "cache"])
    box.verify()
    run.no_traceback()
    assert run.code == EXIT_INPUT  # the broken file
    html_files = list(box.out.rglob("*.html"))
    md_files = list(box.out.rglob("*.md"))
    assert len(html_files) == 1 and len(md_files) == 1
    html = html_files[0].read_text()
    md = md_files[0].read_text()
    # the names are shown, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    assert 'onmouseover="' not in html
    # Markdown: rendered by a CommonMark renderer (raw HTML allowed, as mail clients do),
    # the hostile names and file names are text, never a tag
    from markdown_it import MarkdownIt

    rendered = MarkdownIt("commonmark").render(md)
    assert "<script" not in rendered.lower()
    assert "onmouseover=" not in rendered.replace("onmouseover=&quot;", "")
    assert "alert(1)" in rendered  # shown, not dropped
    # a restrictive CSP as the first line of defence
    head = html.split("</head>")[0]
    assert '<meta http-equiv="Content-Security-Policy"' in head
    csp = head.split('http-equiv="Content-Security-Policy" content="')[1].split('"')[0]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp or "'none'" in csp.split("script-src")[1].split(";")[0]
    assert "http:" not in csp and "https:" not in csp and "*" not in csp
