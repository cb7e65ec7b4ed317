"""``kneeflags cache``."""

from __future__ import annotations

from kneeflags.cli.application import cache_app
from kneeflags.cli.common import (
    CacheDirOpt,
)


@cache_app.command("info")
def cache_info(cache_dir: CacheDirOpt = None) -> None:
    """Where the parse cache is and how big it is."""
    from kneeflags.cache import cache_info as info
    from kneeflags.cache import default_cache_dir

    data = info(cache_dir or default_cache_dir())
    keys = data.get("keys") or []
    print(f"cache: {data['path']}")
    print(f"size:  {int(data['bytes']) / 1e6:.1f} MB in {len(keys)} key(s)")  # type: ignore[call-overload]
    for k in keys:  # type: ignore[union-attr]
        print(f"  {k['key']}: {k['files']} files, {k['activities']} activities")


@cache_app.command("clear")
def cache_clear(cache_dir: CacheDirOpt = None) -> None:
    """Delete the parse cache (it is rebuilt on the next run)."""
    import sys

    import typer

    from kneeflags.cache import CacheClearError, clear_cache, default_cache_dir
    from kneeflags.cli.common import EXIT_INPUT

    root = cache_dir or default_cache_dir()
    try:
        freed = clear_cache(root)
    except CacheClearError as exc:  # a read-only cache is not "cleared"
        print(f"kneeflags: error: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_INPUT) from None
    print(f"cache cleared: {root} ({freed / 1e6:.1f} MB freed)")
