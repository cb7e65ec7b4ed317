"""What a worker process runs: one input file in, its summaries (or its problems) out.

Kept apart from :mod:`kneeflags.pipeline` so that a spawned worker imports only what
parsing and summarising need (the parsers, numpy, polars), not the cache, the rules or
the reports: every module less is start-up time the second core spends idle while the
parent has already begun on the files.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import field

from kneeflags.config import Config
from kneeflags.ingest import load_item
from kneeflags.metrics.summary import ActivitySummary, summarize
from kneeflags.parsers.common import exception_line
from kneeflags.records import record
from kneeflags.sources import SourceItem

MAX_SECONDS_PER_FILE = 120.0
"""Wall-clock cap on parsing and summarising one input file [eng].

A 24-hour 1 Hz FIT takes about a second, the same as GPX a few; the cap is the backstop
for inputs no size cap foresaw. Enforced with ``SIGALRM`` where kneeflags runs in a
process's main thread (the CLI, its worker processes), and in any other thread (a Dask
worker runs its tasks in threads) by an exception a timer thread raises in it
(:func:`_thread_time_limit`); either interrupts Python code, not a single long C call.
Not enforced on Windows' main thread (no ``SIGALRM``). A file over the cap is an error
naming it, never cached, and the run goes on."""


class FileTimeLimit(BaseException):
    """The per-file alarm. A ``BaseException`` so no parser's ``except Exception`` eats it."""


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`FileTimeLimit` in the block after ``seconds`` (see the cap's docs).

    An alarm already armed by the caller is respected: if it is due first, no cap is
    set; otherwise it is re-armed with its remaining time afterwards.
    """
    if seconds > 0 and threading.current_thread() is not threading.main_thread():
        with _thread_time_limit(seconds):
            yield
        return
    if seconds <= 0 or not hasattr(signal, "setitimer"):
        yield
        return
    outer_delay = signal.getitimer(signal.ITIMER_REAL)[0]
    if outer_delay and outer_delay <= seconds:
        yield
        return

    def on_alarm(signum: int, frame: object) -> None:
        raise FileTimeLimit

    started = time.monotonic()
    outer_handler = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer_handler)
        if outer_delay:
            left = outer_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))


class _Watchdog:
    """One daemon thread per process that raises :class:`FileTimeLimit` in threads past
    their deadline (``PyThreadState_SetAsyncExc``: delivered between two bytecodes, like
    a signal handler's exception).

    One thread for all caps, not a ``threading.Timer`` per file: starting and cancelling
    a timer thread cost ~0.3 ms a file on a Dask worker, a sixth of a FIT file's parse;
    arming and disarming here are a dict write under a lock.
    """

    def __init__(self) -> None:
        import ctypes

        self._set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc  # CPython only
        self._tid_type, self._exc_type = ctypes.c_ulong, ctypes.py_object
        self._cond = threading.Condition()
        self._deadlines: dict[int, float] = {}
        self._thread: threading.Thread | None = None

    def arm(self, tid: int, seconds: float) -> bool:
        """Give thread ``tid`` a deadline; False if it already has one (that one governs)."""
        with self._cond:
            if tid in self._deadlines:
                return False
            self._deadlines[tid] = time.monotonic() + seconds
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="kneeflags-file-cap", daemon=True
                )
                self._thread.start()
            self._cond.notify()
            return True

    def disarm(self, tid: int) -> None:
        """Withdraw ``tid``'s deadline, and its exception if it fired but is not delivered."""
        with self._cond:
            fired = self._deadlines.pop(tid, None) is None
        if fired:
            self._set_async_exc(self._tid_type(tid), None)

    def _run(self) -> None:
        with self._cond:
            while True:
                if not self._deadlines:
                    self._cond.wait()
                    continue
                tid, due = min(self._deadlines.items(), key=lambda kv: kv[1])
                left = due - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                del self._deadlines[tid]  # under the lock: disarm now says "fired"
                self._set_async_exc(self._tid_type(tid), self._exc_type(FileTimeLimit))


_watchdog: _Watchdog | None = None
_watchdog_lock = threading.Lock()


def _the_watchdog() -> _Watchdog | None:
    """The process's watchdog; None without CPython's C API (then there is no cap)."""
    global _watchdog
    with _watchdog_lock:
        if _watchdog is None:
            try:
                _watchdog = _Watchdog()
            except (ImportError, AttributeError):  # not CPython
                return None
        return _watchdog


@contextlib.contextmanager
def _thread_time_limit(seconds: float) -> Iterator[None]:
    """:func:`_time_limit` outside the main thread, where no signal can be received.

    The process's :class:`_Watchdog` raises :class:`FileTimeLimit` in this thread after
    ``seconds``. An exception fired as the block ends is withdrawn before it is delivered,
    or, if it is delivered while the cap is being withdrawn, caught there: none escapes
    into the caller's code. A cap already running in this thread governs (the blocks do
    not nest here).
    """
    watchdog = _the_watchdog()
    tid = threading.get_ident()
    if watchdog is None or not watchdog.arm(tid, seconds):
        yield
        return
    try:
        yield
    finally:
        while True:
            try:
                watchdog.disarm(tid)
                break
            except FileTimeLimit:  # delivered while withdrawing: the block had ended
                continue


time_limit = _time_limit
"""Public name of the alarm-based cap (the parent's hashing pass uses it too)."""


@record
class FileOutcome:
    """One input item after parsing (or after a cache hit): small and picklable.

    A fresh parse carries its :class:`ActivitySummary` objects (a row and arrays each, no
    polars frame: frames are built once for all files, by the parent, not once per file);
    a cache hit carries none, its rows stay in the bulk ``CacheHits`` frames.
    """

    sha256: str | None
    status: str  # ok | error | skipped
    problems: list[tuple[str, str]] = field(default_factory=list)
    skip_reason: str = ""
    summaries: list[ActivitySummary] = field(default_factory=list)
    cacheable: bool = True
    """False for outcomes of circumstance (the time cap), which a rerun may not repeat."""
    from_cache: bool = False


def process_item(item: SourceItem, decoder: str, tz: str | None, config: Config) -> FileOutcome:
    """Parse one item and reduce it to summaries (in a worker process or the parent).

    Bounded by :data:`MAX_SECONDS_PER_FILE`: a file over it becomes an error.
    """
    cap = MAX_SECONDS_PER_FILE
    try:
        with _time_limit(cap):
            return _process_item(item, decoder, tz, config)
    except FileTimeLimit:
        message = f"gave up after {cap:g} s (the time cap per file): not used"
        return FileOutcome(None, "error", [("error", message)], cacheable=False)
    except MemoryError:  # a limit of this run (ulimit, a busy machine): never cached
        return FileOutcome(None, "error", [("error", "out of memory: not used")], cacheable=False)


def _process_item(item: SourceItem, decoder: str, tz: str | None, config: Config) -> FileOutcome:
    res = load_item(item, decoder=decoder, tz=tz)
    outcome = _reduce(res, config)
    outcome.cacheable = outcome.cacheable and not res.transient
    return outcome


def _reduce(res: object, config: Config) -> FileOutcome:
    problems = [(p.kind, p.message) for p in res.problems]
    # Provenance notes (e.g. "fast decoder fell back to fitparse") are for --debug only.
    notes = dict.fromkeys(n for a in res.activities for n in a.provenance.notes)
    problems += [("note", n) for n in notes]
    if res.skipped and not res.activities:  # (a chained FIT may hold both)
        return FileOutcome(_sha_of(res), "skipped", problems, skip_reason=res.skipped[0].reason)
    if res.errors and not res.activities:
        return FileOutcome(_sha_of(res), "error", problems)
    summaries = []
    for act in res.activities:
        try:
            summaries.append(summarize(act, config))
        except MemoryError:
            raise  # transient: process_item reports it uncached
        except Exception as exc:  # one activity's failure must not stop the run
            problems.append(("error", f"could not analyse: {exception_line(exc)}"))
    if not summaries:
        return FileOutcome(_sha_of(res), "error", problems)
    return FileOutcome(_sha_of(res), "ok", problems, summaries=summaries)


def _sha_of(res: object) -> str | None:
    acts = getattr(res, "activities", [])
    return acts[0].sha256 if acts else None


def process_chunk(
    chunk: Sequence[tuple[int, SourceItem]], decoder: str, tz: str | None, config: Config
) -> list[tuple[int, FileOutcome]]:
    """Parse a chunk; archives stay open between its members (one open per archive)."""
    return [(i, process_item(item, decoder, tz, config)) for i, item in chunk]
