"""The scene cache: simulated conversations rendered once and reused.

A scene is `talkbalance.scenesim.random_config(seed, minutes)` rendered to a
4-channel WAV and its ground truth (JSON), both kept under one folder
(default ~/.cache/talkbalance/scenes, or $XDG_CACHE_HOME/talkbalance/scenes)
by seed and length. `talkbalance bench` and `talkbalance evaluate` share it.
"""

from __future__ import annotations

import json
import os
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

from talkbalance.errors import ToolMissing

Progress = Callable[[str], None]


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "talkbalance" / "scenes"


def _quiet(_text: str) -> None:
    return None


# --- scenes ----------------------------------------------------------------------

def scene_paths(cache: Path, seed: int, minutes: float) -> tuple[Path, Path]:
    stem = f"scene-{seed:03d}-{minutes:g}min"
    return cache / f"{stem}.wav", cache / f"{stem}.json"


def ensure_scene(cache: Path, seed: int, minutes: float, progress: Progress = _quiet) -> tuple[Path, Path]:
    """The scene's WAV and truth, rendered into `cache` unless already there."""
    wav, truth = scene_paths(cache, seed, minutes)
    if wav.is_file() and truth.is_file():
        try:
            cfg = json.loads(truth.read_text())["config"]
            if cfg["seed"] == seed and float(cfg["minutes"]) == minutes:
                return wav, truth
        except (ValueError, KeyError):
            pass
    try:
        from talkbalance import scenesim
    except ImportError as exc:
        raise ToolMissing(f"the scene simulator cannot run: {exc}", "pip install -e .[bench]") from None
    cache.mkdir(parents=True, exist_ok=True)
    progress(f"bench: rendering scene {seed} ({minutes:g} min) into {cache} ...")
    return render_into(scenesim.random_config(seed, minutes), wav, truth)


def render_into(cfg, wav: Path, truth: Path) -> tuple[Path, Path]:
    """Render `cfg` to `wav` and `truth`, each written beside as .part and
    moved into place, so a cut-off render leaves no half scene behind."""
    from talkbalance import scenesim

    rendered = scenesim.render(cfg)
    tmp_wav, tmp_truth = wav.with_suffix(".wav.part"), truth.with_suffix(".json.part")
    scenesim.write(rendered, tmp_wav, tmp_truth)
    tmp_wav.replace(wav)
    tmp_truth.replace(truth)
    return wav, truth


def read_audio(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return data.reshape(-1, w.getnchannels())

