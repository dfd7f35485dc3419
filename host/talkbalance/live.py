"""The live view: the device's `live` events as numbers and the ring.

While live is on, the device sends `evt live` frames whose body carries the
ring's state (the fields of tbfw.ring.RingState: mode, share_pm,
recent_share_pm, target_pm, band_pm, initiator_az, partner_az, speaking,
heat, elapsed_s, meeting_s, ...) and optionally `t_ms`, the device's
millisecond clock for the ring's animations. Unknown keys are ignored, so a
newer device can send more. The ring is drawn by the firmware's own renderer
(talkbalance.ringview).
"""

from __future__ import annotations

import talkbalance.fw  # noqa: F401  (puts the firmware on sys.path)
from talkbalance import ringview

# isort: split
from tbfw import ring as fwring

_SPEAKING = ("nobody", "initiator", "partner", "both")


def ring_state(body: dict) -> fwring.RingState:
    """The RingState an event describes (fields it does not name keep their defaults)."""
    state = fwring.RingState()
    for key, value in body.items():
        if key == "mode" and isinstance(value, str):
            if value in fwring.MODE_NAMES:
                state.mode = fwring.MODE_NAMES.index(value)
        elif hasattr(state, key) and not key.startswith("_"):
            setattr(state, key, value)
    return state


def _clock(seconds) -> str:
    seconds = int(seconds or 0)
    return f"{seconds // 60:d}:{seconds % 60:02d}"


def numbers(body: dict) -> str:
    """One line of the numbers in a live event."""
    state = ring_state(body)
    mode = fwring.MODE_NAMES[state.mode] if 0 <= state.mode < len(fwring.MODE_NAMES) else str(state.mode)
    parts = [f"{mode:<9}"]
    if state.mode == fwring.MODE_SESSION or "share_pm" in body:
        parts.append(f"{_clock(state.elapsed_s)} of {_clock(state.meeting_s)}")
        share = f"initiator {state.share_pm / 10:.0f}%"
        if state.recent_share_pm >= 0:
            share += f" (recent {state.recent_share_pm / 10:.0f}%)"
        band = fwring.band_of(state.share_pm, state.target_pm, state.band_pm)
        parts.append(f"{share} {fwring.BAND_NAMES[band]} (target {state.target_pm / 10:.0f}"
                     f"\u00b1{state.band_pm / 10:.0f}%)")
    speaking = state.speaking if 0 <= state.speaking < len(_SPEAKING) else 0
    parts.append(f"speaking: {_SPEAKING[speaking]}")
    if state.heat:
        parts.append(f"heat {state.heat}")
    return "  ".join(parts)


def ring_line(ring: fwring.Ring, body: dict) -> str:
    """The ring as the device would show it, as a truecolour terminal line."""
    grb = ringview.render(ring, ring_state(body), int(body.get("t_ms", 0) or 0))
    return ringview.terminal_line(ring, grb)
