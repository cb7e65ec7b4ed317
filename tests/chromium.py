"""Headless Chromium for the HTML tests: where it is and how to start it here.

The flags are the ones this machine needs (no sandbox as root, no GPU, and no background
networking: every connection outside the machine is refused), with a fresh profile per
run so runs never share state.
"""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SKIP_REASON = "chromium is not installed (.ci/run installs it)"


def chromium_command(profile: Path, *args: str) -> list[str]:
    """``chromium --headless ...`` with a profile folder of its own, then ``args``."""
    assert CHROMIUM is not None, SKIP_REASON
    return [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
