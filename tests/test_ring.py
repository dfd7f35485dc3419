"""The LED ring on the host: the firmware renderer under CPython, previews, the command."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from talkbalance import cli, paths, ringview
from talkbalance.fw import config as fwconfig
from tbfw import ring as fwring

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "ring.md"
IMG = ROOT / "docs" / "img" / "ring"


def _ring(count=16, led0=0.0, direction="ccw", cap=64) -> fwring.Ring:
    return fwring.Ring({"pin": 38, "count": count, "led0_azimuth_deg": led0, "direction": direction,
                        "max_brightness": cap, "channel_ma": 20, "budget_ma": 200})


def _nearest(count, led0, direction, az) -> set[int]:
    step = 360 / count
    dist = []
    for led in range(count):
        d = abs((az - (led0 + (led * step if direction == "ccw" else -led * step))) % 360)
        dist.append(min(d, 360 - d))
    return {led for led, d in enumerate(dist) if d - min(dist) < 1e-6}


@settings(max_examples=300, deadline=None)
@given(count=st.sampled_from([12, 16, 24]), led0=st.integers(-3600, 3600).map(lambda d: d / 10),
       direction=st.sampled_from(["ccw", "cw"]), az=st.integers(0, 359))
def test_led_of_is_the_nearest_led(count, led0, direction, az):
    r = _ring(count, led0, direction)
    assert r.led_of(az) in _nearest(count, led0, direction, az)
    assert abs(((r.led_azimuth(r.led_of(az)) - az) + 180) % 360 - 180) <= 180 / count + 0.051


@settings(max_examples=200, deadline=None)
@given(count=st.sampled_from([12, 16, 24]), cap=st.integers(1, 255), mode=st.integers(0, 6),
       share=st.integers(0, 1000), recent=st.integers(-1, 1000), heat=st.integers(0, 5),
       speaking=st.integers(0, 3), elapsed=st.integers(0, 9000), bright=st.integers(0, 100),
       flags=st.integers(0, 7), now_ms=st.integers(0, 1 << 30))
def test_cap_and_budget_hold(count, cap, mode, share, recent, heat, speaking, elapsed, bright, flags, now_ms):
    r = _ring(count, 12.5, "cw", cap)
    state = ringview.make_state({"mode": mode, "initiator_az": 200, "partner_az": 20, "share_pm": share,
                                 "recent_share_pm": recent, "heat": heat, "speaking": speaking,
                                 "elapsed_s": elapsed, "brightness_pct": bright, "claim_pm": share,
                                 "night": bool(flags & 1), "mic_fault": bool(flags & 2),
                                 "storage_nearly_full": bool(flags & 4)})
    out = bytearray(3 * count)
    total = r.render(state, now_ms, out)
    assert max(out) <= cap
    assert total == sum(out) <= 2550


def test_power_budget_matches_the_stated_current():
    # 20 mA per channel at 255: the budget allows 200 mA of LED current.
    r = _ring(24, cap=255)
    assert r.budget * 20 / 255 == pytest.approx(200, abs=0.1)


def test_cpython_and_micropython_render_the_same_bytes(tmp_path):
    cases = []
    for sc in ringview.SCENARIOS:
        for now_ms in (0, sc.still_ms, 3333, 7777):
            cases.append({"count": sc.count or 16, "attrs": sc.attrs, "now_ms": now_ms})
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    script = tmp_path / "render.py"
    script.write_text(
        "import sys, json\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from tbfw import ring\n"
        "desc = json.load(open(sys.argv[2]))['ring']\n"
        "for case in json.load(open(sys.argv[3])):\n"
        "    desc['count'] = case['count']\n"
        "    r = ring.Ring(desc)\n"
        "    st = ring.RingState()\n"
        "    for k, v in case['attrs'].items():\n"
        "        setattr(st, k, ring.MODE_NAMES.index(v) if k == 'mode' else v)\n"
        "    out = bytearray(3 * r.count)\n"
        "    r.render(st, case['now_ms'], out)\n"
        "    print(''.join('%02x' % b for b in out))\n")
    proc = subprocess.run(paths.micropython() + [str(script), str(paths.firmware_dir()), str(paths.board_path()),
                                                 str(tmp_path / "cases.json")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    device = proc.stdout.split()
    assert len(device) == len(cases)
    for case, line in zip(cases, device):
        r = ringview.load_ring(count=case["count"])
        host = ringview.render(r, ringview.make_state(case["attrs"]), case["now_ms"])
        assert host.hex() == line, case


def test_display_colours_and_terminal_line():
    r = ringview.load_ring()
    state = ringview.make_state(ringview.scenario("session-drifting").attrs)
    grb = ringview.render(r, state, 0)
    colours = ringview.display_colours(r, grb)
    assert len(colours) == 16
    lit = [c for c in colours if c is not None]
    assert lit and all(0.0 < max(c) <= 1.0 for c in lit)
    line = ringview.terminal_line(r, grb)
    assert line.count("\x1b[38;2;") == 16 and line.endswith("\x1b[0m")
    assert len(re.findall("\u25cf", line)) == len(lit)


def test_png_and_gif(tmp_path):
    r = ringview.load_ring(count=12)
    state = ringview.make_state(ringview.scenario("session-heat").attrs)
    png = ringview.draw_png(r, state, 5000, tmp_path / "a.png", "heat", size_px=200)
    with Image.open(png) as im:
        assert im.size == (200, 200)
        colours = {c for _n, c in im.getcolors(200 * 200)}
        assert len(colours) > 20
    gif = ringview.draw_gif(r, state, 10000, tmp_path / "a.gif", "heat", fps=4, size_px=120)
    with Image.open(gif) as im:
        assert im.n_frames >= 10  # the breath changes the picture (equal neighbours are merged)
        total = 0
        for k in range(im.n_frames):
            im.seek(k)
            total += im.info["duration"]
        assert total == 10000  # one whole breath, looping


def test_make_state_rejects_unknown_fields_and_modes():
    with pytest.raises(ringview.InputError):
        ringview.make_state({"colour": 1})
    with pytest.raises(ringview.InputError):
        ringview.make_state({"mode": "party"})
    assert ringview.make_state({"mode": "ended"}).mode == fwring.MODE_ENDED


def test_ring_command_prints_a_line_and_writes_png(tmp_path, capsys):
    assert cli.main(["ring", "--state", "session", "--share", "0.3", "--count", "12"]) == 0
    out = capsys.readouterr().out
    assert out.count("\x1b[38;2;") == 12
    png = tmp_path / "x.png"
    assert cli.main(["ring", "--state", "ended", "--share", "0.45", "--direction", "cw", "--led0", "90",
                     "--png", str(png)]) == 0
    assert png.is_file() and png.stat().st_size > 1000


def test_ring_command_overrides_reach_the_state():
    args = cli.build_parser().parse_args(["ring", "--share", "0.42", "--recent", "0.5", "--speaking", "both",
                                          "--elapsed-min", "12.5", "--initiator-az", "-30", "--night"])
    from talkbalance.commands import ring as cmd

    attrs = cmd.state_attrs(args, {"mode": "session"})
    assert attrs["share_pm"] == 420 and attrs["recent_share_pm"] == 500 and attrs["speaking"] == 3
    assert attrs["elapsed_s"] == 750 and attrs["initiator_az"] == 330 and attrs["night"] is True


@pytest.mark.parametrize("argv, message", [
    (["ring", "--state", "nope"], "no ring state 'nope'"),
    (["ring", "--share", "1.5"], "--share must be from 0 to 1"),
    (["ring", "--count", "0"], "--count must be from 1 to 64"),
    (["ring", "--brightness", "101"], "--brightness must be from 0 to 100"),
])
def test_ring_command_user_errors(argv, message, capsys):
    assert cli.main(argv) == 1
    assert message in capsys.readouterr().err


def test_board_ring_is_valid_for_the_renderer():
    desc = fwconfig.load_board(str(paths.board_path()))
    r = fwring.from_board(desc)
    assert r.count == desc["ring"]["count"] and r.cap == desc["ring"]["max_brightness"]


def test_docs_show_every_state_with_its_generated_image():
    text = DOC.read_text()
    assert "talkbalance ring --gallery docs/img/ring" in text
    for sc in ringview.SCENARIOS:
        image = "img/ring/" + sc.name + (".gif" if sc.animate_ms else ".png")
        assert f"({image})" in text, sc.name
        assert (IMG / Path(image).name).is_file(), image
        assert (IMG / f"{sc.name}.png").is_file()
    shown = {m for m in re.findall(r"img/ring/([\w-]+)\.(?:png|gif)", text)}
    assert shown == {sc.name for sc in ringview.SCENARIOS}
