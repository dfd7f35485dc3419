"""tools/same_records.py: the reference firmware it builds from git, and a run."""

from __future__ import annotations

import importlib.util
import subprocess
import wave

import numpy as np
import pytest
from talkbalance import boardfile, paths, signals

CHECKOUT = paths.checkout_dir()
pytestmark = pytest.mark.skipif(CHECKOUT is None, reason="needs a git checkout")


def _tool():
    spec = importlib.util.spec_from_file_location("same_records", CHECKOUT / "tools" / "same_records.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _git(*args: str) -> bytes:
    return subprocess.run(["git", "-C", str(CHECKOUT), *args], capture_output=True, check=True).stdout


def test_whole_tree_is_the_firmware_as_committed(tmp_path):
    # Take the revision before the last one that touched the firmware, so
    # that the tree differs from the checkout's and only git can give it.
    rel = paths.firmware_dir().relative_to(CHECKOUT).as_posix()
    ref = _git("log", "-2", "--format=%H", "--", rel).split()[-1].decode()
    dest = _tool()._firmware_at(ref, tmp_path / "fw", whole=True)
    committed = _git("ls-tree", "-r", "--name-only", ref, "--", f"{rel}/").decode().split("\n")
    committed = sorted(p[len(rel) + 1:] for p in committed if p)
    built = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert built == committed and "main.py" in built and "tbfw/app.py" in built
    for name in committed:
        assert (dest / name).read_bytes() == _git("show", f"{ref}:{rel}/{name}"), name


def test_dsp_only_tree_is_the_checkout_with_dsp_from_ref(tmp_path):
    root = paths.firmware_dir()
    rel = root.relative_to(CHECKOUT).as_posix()
    dest = _tool()._firmware_at("HEAD", tmp_path / "fw")
    assert (dest / "tbfw" / "dsp.py").read_bytes() == _git("show", f"HEAD:{rel}/tbfw/dsp.py")
    assert (dest / "tbfw" / "app.py").read_bytes() == (root / "tbfw" / "app.py").read_bytes()


def test_whole_run_against_the_checkouts_own_revision(tmp_path, capsys):
    """The firmware as committed at HEAD, run beside the checkout's: when the
    checkout's firmware is HEAD's, every record and frame is the same."""
    rel = paths.firmware_dir().relative_to(CHECKOUT).as_posix()
    if _git("status", "--porcelain", "--", rel).strip():
        pytest.skip("the checkout's firmware has uncommitted changes")
    rate, desc, rng = 16000, boardfile.load(), np.random.default_rng(3)
    audio = np.zeros((8 * rate, 4))
    for k, az in enumerate((40.0, 220.0, 40.0, 220.0)):
        src = 3000 * signals.speech_like(2 * rate, rate, rng)
        audio[k * 2 * rate:(k + 1) * 2 * rate] += signals.render_far_field(src, desc, az).T
    audio += rng.normal(0, 30, audio.shape)
    path = tmp_path / "two.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(4)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.clip(audio, -32768, 32767).astype("<i2").tobytes())
    assert _tool().main(["--whole", "HEAD", str(path)]) == 0
    out = capsys.readouterr().out
    assert "two.wav: same (1 session, 400 frames" in out, out
    assert "1 of 1 recordings give identical records and frames with the firmware at HEAD" in out, out
