"""The live view: the device's `live` events as numbers and the ring.

While live is on, the device sends `evt live` frames. The app (tbfw.app)
sends `state` (idle, session, ended...), `who` (the role speaking now),
`share_pm` (the initiator's share, per mille), `elapsed_s`, `heat`,
`azimuth_deg`, `level_db` and `ring`: the hex of the GRB bytes its LED
driver holds, which are drawn as they are. A body without `ring` may carry
the ring's state instead (the fields of tbfw.ring.RingState: mode,
share_pm, recent_share_pm, initiator_az, partner_az, speaking, heat,
elapsed_s, meeting_s, ..., and `t_ms` for animations), which the firmware's
own renderer turns into pixels. Unknown keys are ignored, so a newer device
can send more.
"""

from __future__ import annotations

from talkbalance import ringview
from talkbalance.fw import ring as fwring

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
    mode = body.get("state")
    if not isinstance(mode, str):
        mode = fwring.MODE_NAMES[state.mode] if 0 <= state.mode < len(fwring.MODE_NAMES) else str(state.mode)
    parts = [f"{mode:<9}"]
    if mode == "session" or (isinstance(state.share_pm, int) and state.share_pm >= 0):
        parts.append(f"{_clock(state.elapsed_s)} of {_clock(state.meeting_s)}")
    if isinstance(state.share_pm, int) and state.share_pm >= 0:
        share = f"initiator {state.share_pm / 10:.0f}%"
        if state.recent_share_pm >= 0:
            share += f" (recent {state.recent_share_pm / 10:.0f}%)"
        band = fwring.band_of(state.share_pm, state.target_pm, state.band_pm)
        parts.append(f"{share} {fwring.BAND_NAMES[band]} (target {state.target_pm / 10:.0f}"
                     f"\u00b1{state.band_pm / 10:.0f}%)")
    who = body.get("who")
    if not isinstance(who, str) or not who:
        who = _SPEAKING[state.speaking] if 0 <= state.speaking < len(_SPEAKING) else "nobody"
    parts.append(f"speaking: {who}")
    if isinstance(body.get("azimuth_deg"), (int, float)):
        parts.append(f"from {body['azimuth_deg']:.0f}\u00b0")
    if isinstance(body.get("level_db"), (int, float)):
        parts.append(f"{body['level_db']:.0f} dBFS")
    if state.heat:
        parts.append(f"heat {state.heat}")
    if state.hearing_low is True:
        parts.append("can't hear well: the share is not to be trusted")
    return "  ".join(parts)


class RingLine:
    """The ring of each live event as a truecolour terminal line."""

    def __init__(self, board_path=None):
        self.board_path = board_path
        self._rings: dict[int | None, fwring.Ring] = {}

    def _ring(self, count: int | None) -> fwring.Ring:
        if count not in self._rings:
            self._rings[count] = ringview.load_ring(self.board_path, count=count)
        return self._rings[count]

    def __call__(self, body: dict) -> str:
        pixels = body.get("ring")
        if isinstance(pixels, str) and pixels:
            try:
                grb = bytes.fromhex(pixels)
            except ValueError:
                grb = b""
            if grb and len(grb) % 3 == 0:
                return ringview.terminal_line(self._ring(len(grb) // 3), grb)  # the device's own pixels
        ring = self._ring(None)
        grb = ringview.render(ring, ring_state(body), int(body.get("t_ms", 0) or 0))
        return ringview.terminal_line(ring, grb)
