"""Render a page in a real headless browser (Debian's `chromium`) and save a
screenshot. Used by the report tests and tools/docs_host.py; a missing
browser raises NoBrowser so a test can skip cleanly."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

BROWSER_ENV = "TALKBALANCE_BROWSER"
_NAMES = ("chromium", "chromium-browser", "chromium-headless-shell", "google-chrome", "google-chrome-stable")


class NoBrowser(Exception):
    pass


def find() -> str:
    """The browser to use: $TALKBALANCE_BROWSER, else the first Chromium on PATH."""
    named = os.environ.get(BROWSER_ENV)
    for name in ([named] if named else []) + list(_NAMES):
        path = shutil.which(name)
        if path:
            return path
    raise NoBrowser("no headless Chromium found (Debian: apt-get install chromium; or set "
                    f"{BROWSER_ENV})")


def screenshot(page: Path, png: Path, width: int = 1100, height: int = 1500, timeout_s: float = 90) -> Path:
    """Load `page` (a local file) with the network off and save what shows."""
    with tempfile.TemporaryDirectory(prefix="tb-browser-") as profile:
        cmd = [find(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--mute-audio",
               "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
               "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",  # nothing from the network
               f"--window-size={width},{height}", f"--screenshot={png.resolve()}",
               page.resolve().as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode != 0 or not png.is_file():
        raise RuntimeError(f"the browser failed ({proc.returncode}): {proc.stderr[-500:]}")
    return png
