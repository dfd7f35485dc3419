"""The ring's constant tables are what their comments say they are."""

from __future__ import annotations

import math

import talkbalance.fw  # noqa: F401  isort: skip (puts the firmware on sys.path)
from tbfw import ring  # noqa: E402


def test_wave_is_the_raised_cosine():
    want = bytes(int(127.5 - 127.5 * math.cos(2 * math.pi * k / 64) + 0.5) for k in range(64))
    assert ring._WAVE == want


def test_gamma_curve_is_2_2_in_q16():
    # the table holds the curve's second differences, two to a byte
    assert len(ring._GAMMA_D2) == 128
    second = [(ring._GAMMA_D2[v >> 1] >> (v & 1) * 4) & 15 for v in range(256)]
    q16, step, acc = [], 0, 0
    for d2 in second:
        step += d2
        acc += step
        q16.append(acc)
    assert q16 == [round(65535 * (v / 255) ** 2.2) for v in range(256)]


def test_gamma_table_matches_the_float_formula_for_every_cap():
    off_by_one = 0
    for cap in range(256):
        table = ring.Ring({"count": 12, "max_brightness": cap, "direction": "ccw", "led0_azimuth_deg": 0,
                           "channel_ma": 20, "budget_ma": 200})._gamma
        for v in range(256):
            exact = int(cap * (v / 255) ** 2.2 + 0.5)
            assert abs(table[v] - exact) <= 1, (cap, v)
            off_by_one += table[v] != exact
        assert table[0] == 0 and table[255] == cap
    assert off_by_one <= 40  # of 65,536 entries: rounding ties of the Q16 curve
