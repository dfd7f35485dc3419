"""Previews of the LED ring: the firmware's own renderer, drawn for a screen.

The pixels come from `tbfw.ring` (the module that runs on the device), run
here under CPython; this module only turns its GRB bytes into pictures: a
PNG of the ring seen from above with the two talkers at their places, an
animated GIF for the states that move, and a truecolour terminal line.

The gallery (`SCENARIOS`) is the list of states that docs/ring.md shows.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from talkbalance import boardfile
from talkbalance.errors import InputError
from talkbalance.fw import ring as fwring

_GAMMA = 2.2
_BACKGROUND = "#1d2126"
_PUCK = "#2b3036"
_LED_OFF = (0.23, 0.25, 0.28)


@dataclass
class Scenario:
    """A named ring state for the gallery and the `--state` option."""

    name: str
    title: str
    meaning: str
    attrs: dict = field(default_factory=dict)
    still_ms: int = 0  # the moment shown in the PNG
    animate_ms: int = 0  # length of the GIF loop; 0 for a still state
    count: int = 0  # ring size; 0 for the board's own


_SEATS = {"initiator_az": 270, "partner_az": 90}  # across the table, initiator at the front

SCENARIOS: list[Scenario] = [
    Scenario("idle", "Idle", "The puck is on and waiting; no session is running.",
             {"mode": "idle"}),
    Scenario("listening", "Listening", "Someone is talking but the session has not started: a blue light "
             "circles while the puck learns where each person sits; a located talker gets their LED.",
             {"mode": "listening", "partner_az": 90, "speaking": 2}, still_ms=1500, animate_ms=8000),
    Scenario("claim", "Claim in progress", "The button is held while the initiator speaks: the blue arc "
             "grows from their seat until the role is taken.",
             {"mode": "claim", "initiator_az": 270, "claim_pm": 600, "speaking": 1}),
    Scenario("session-in-band", "In band", "The initiator has spoken 30% of the time: the arc is green and "
             "ends on the two white target marks. The partner is speaking (lighter, wider pink).",
             {"mode": "session", **_SEATS, "share_pm": 300, "recent_share_pm": 280, "speaking": 2,
              "elapsed_s": 600}),
    Scenario("session-under", "Listening well", "The initiator has spoken less than 25%: a narrow sky-blue "
             "arc, inside the target marks. Nothing to change.",
             {"mode": "session", **_SEATS, "share_pm": 180, "recent_share_pm": 150, "speaking": 2,
              "elapsed_s": 600}),
    Scenario("session-drifting", "Drifting over", "The initiator is at 41% and the last few minutes were "
             "higher still (the bright dots sit outside the arc): the arc turns yellow. Both are speaking.",
             {"mode": "session", **_SEATS, "share_pm": 410, "recent_share_pm": 520, "speaking": 3,
              "elapsed_s": 1500}),
    Scenario("session-far-over", "Far over", "More than 45%: a wide orange arc on the initiator's own side, "
             "a cue to ask a question and listen. The recent dots inside the arc show it is coming back down.",
             {"mode": "session", **_SEATS, "share_pm": 560, "recent_share_pm": 380, "speaking": 1,
              "elapsed_s": 1200}),
    Scenario("session-heat", "Heat: breathe", "Raised voices: the dark part of the ring breathes in soft "
             "blue, six breaths a minute, an invitation to the initiator to slow down and speak softly.",
             {"mode": "session", **_SEATS, "share_pm": 360, "recent_share_pm": 450, "speaking": 1,
              "heat": 2, "elapsed_s": 1400}, still_ms=5000, animate_ms=10000),
    Scenario("session-cant-hear", "Can't hear well", "The room is too loud (or a TV or music too close) to "
             "tell who is speaking: the arc dims, the recent dots go, and two soft warm-white marks at the "
             "sides swell slowly. The share is not to be trusted until they go.",
             {"mode": "session", **_SEATS, "share_pm": 300, "recent_share_pm": 320, "speaking": 0,
              "elapsed_s": 900, "hearing_low": True}, still_ms=3000, animate_ms=6000),
    Scenario("session-wrap-up", "Wrap-up", "The last five minutes before the 40-minute mark: the pacing "
             "dot turns yellow and widens, time to agree when to meet again.",
             {"mode": "session", **_SEATS, "share_pm": 320, "recent_share_pm": 300, "speaking": 2,
              "elapsed_s": 2220}),
    Scenario("session-overtime", "Past the mark", "The planned time has passed: the pacing dot rests where it "
             "started and the ring glows faintly warm.",
             {"mode": "session", **_SEATS, "share_pm": 310, "recent_share_pm": 330, "speaking": 0,
              "elapsed_s": 2700}),
    Scenario("ended", "Session ended", "The summary stays on the ring: the whole session's share as the arc "
             "against the target marks, and where each person sat.",
             {"mode": "ended", **_SEATS, "share_pm": 330, "elapsed_s": 2460}),
    Scenario("syncing", "Syncing", "The laptop is pulling the session summaries over USB.",
             {"mode": "syncing"}, still_ms=300, animate_ms=2000),
    Scenario("storage-nearly-full", "Storage nearly full", "Two yellow LEDs blink once every four seconds: "
             "sync soon so that older sessions can be cleared.",
             {"mode": "idle", "storage_nearly_full": True}, still_ms=200, animate_ms=4000),
    Scenario("mic-fault", "Microphone fault", "Two vermillion LEDs blink (one second on, one off) over whatever "
             "else is shown: a microphone gives no signal, so talk time is not being counted correctly.",
             {"mode": "session", **_SEATS, "share_pm": 300, "recent_share_pm": 300, "speaking": 0,
              "elapsed_s": 700, "mic_fault": True}, still_ms=200, animate_ms=2000),
    Scenario("night", "Night", "Night mode: the ring stays dark.",
             {"mode": "session", **_SEATS, "share_pm": 300, "night": True}),
    Scenario("night-mic-fault", "Night, microphone fault", "At night only faults show, at a low light.",
             {"mode": "idle", "night": True, "mic_fault": True}, still_ms=200, animate_ms=2000),
    Scenario("error", "Error", "The firmware stopped on an error: the whole ring pulses slowly. Unplug and "
             "plug in again; if it stays, connect the laptop tool.",
             {"mode": "error"}, still_ms=2000, animate_ms=4000),
    Scenario("ring-12", "12-LED ring", "The in-band picture on a 12-LED ring.",
             {"mode": "session", **_SEATS, "share_pm": 300, "recent_share_pm": 350, "speaking": 1,
              "elapsed_s": 900}, count=12),
    Scenario("ring-24", "24-LED ring", "The in-band picture on a 24-LED ring.",
             {"mode": "session", **_SEATS, "share_pm": 300, "recent_share_pm": 350, "speaking": 1,
              "elapsed_s": 900}, count=24),
]


def scenario(name: str) -> Scenario:
    """A gallery state by name, or a plain mode with the talkers across the table."""
    for sc in SCENARIOS:
        if sc.name == name:
            return sc
    if name in fwring.MODE_NAMES:
        return Scenario(name, name.capitalize(), "", {"mode": name, **_SEATS, "share_pm": 300})
    raise InputError(f"no ring state {name!r}",
                     "states: " + ", ".join(fwring.MODE_NAMES + tuple(s.name for s in SCENARIOS
                                                                     if s.name not in fwring.MODE_NAMES)))


def make_state(attrs: dict) -> fwring.RingState:
    """A RingState with `attrs` applied; "mode" may be a name."""
    state = fwring.RingState()
    for key, value in attrs.items():
        if not hasattr(state, key):
            raise InputError(f"ring state has no field {key!r}")
        if key == "mode" and isinstance(value, str):
            if value not in fwring.MODE_NAMES:
                raise InputError(f"no ring mode {value!r}", "modes: " + ", ".join(fwring.MODE_NAMES))
            value = fwring.MODE_NAMES.index(value)
        setattr(state, key, value)
    return state


def load_ring(board_path: str | Path | None = None, count: int | None = None,
              led0_azimuth_deg: float | None = None, direction: str | None = None) -> fwring.Ring:
    """The renderer for a board file's ring, with optional overrides."""
    desc = dict(boardfile.load(board_path)["ring"])
    if count is not None:
        if not 1 <= count <= 64:
            raise InputError(f"ring count must be 1 to 64, not {count}")
        desc["count"] = count
    if led0_azimuth_deg is not None:
        desc["led0_azimuth_deg"] = float(led0_azimuth_deg)
    if direction is not None:
        if direction not in ("ccw", "cw"):
            raise InputError(f"ring direction must be ccw or cw, not {direction!r}")
        desc["direction"] = direction
    return fwring.Ring(desc)


def render(ring: fwring.Ring, state: fwring.RingState, now_ms: int) -> bytes:
    """One frame's GRB bytes, as the device writes them."""
    out = bytearray(3 * ring.count)
    ring.render(state, now_ms, out)
    return bytes(out)


def display_colours(ring: fwring.Ring, grb: bytes) -> list[tuple[float, float, float] | None]:
    """Screen colour (sRGB 0..1) for each LED, or None when it is off.

    The LED's light is its PWM value over the board's cap (the eye adapts to
    the brightest the ring can be); the screen needs that light
    gamma-encoded again.
    """
    out: list[tuple[float, float, float] | None] = []
    for led in range(ring.count):
        g, r, b = grb[3 * led], grb[3 * led + 1], grb[3 * led + 2]
        if r == g == b == 0:
            out.append(None)
            continue
        rr, gg, bb = (min(1.0, (v / ring.cap) ** (1 / _GAMMA)) for v in (r, g, b))
        out.append((rr, gg, bb))
    return out


def terminal_line(ring: fwring.Ring, grb: bytes) -> str:
    """The ring as one line of truecolour (ANSI 24-bit) dots, LED 0 first."""
    parts = []
    for colour in display_colours(ring, grb):
        if colour is None:
            parts.append("\x1b[38;2;60;64;70m\u00b7")
        else:
            r, g, b = (round(255 * c) for c in colour)
            parts.append(f"\x1b[38;2;{r};{g};{b}m\u25cf")
    return " ".join(parts) + "\x1b[0m"


class _Figure:
    """A matplotlib figure of the ring from above; recoloured per frame."""

    def __init__(self, ring: fwring.Ring, state: fwring.RingState, title: str, size_px: int):
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure
        from matplotlib.patches import Circle

        self.ring = ring
        dpi = 100
        self.fig = Figure(figsize=(size_px / dpi, size_px / dpi), dpi=dpi, facecolor=_BACKGROUND)
        ax = self.fig.add_axes((0, 0, 1, 0.9))
        ax.set_xlim(-2.4, 2.4)
        ax.set_ylim(-2.4, 2.4)
        ax.set_aspect("equal")
        ax.axis("off")
        self.fig.text(0.5, 0.94, title, color="#e8e8e8", ha="center", va="center", fontsize=12)
        ax.add_patch(Circle((0, 0), 1.32, color=_PUCK, zorder=1))
        led_r = min(0.17, 0.8 * math.pi / ring.count)
        self.glows = []
        self.leds = []
        for led in range(ring.count):
            a = math.radians(ring.led_azimuth(led))
            x, y = math.cos(a), math.sin(a)
            glow = Circle((x, y), led_r * 2.0, color=_LED_OFF, alpha=0.0, zorder=2, linewidth=0)
            dot = Circle((x, y), led_r, facecolor=_LED_OFF, edgecolor="#0e1013", linewidth=0.8, zorder=3)
            ax.add_patch(glow)
            ax.add_patch(dot)
            self.glows.append(glow)
            self.leds.append(dot)
        a0 = math.radians(ring.led_azimuth(0))
        ax.text(0.7 * math.cos(a0), 0.7 * math.sin(a0), "0", color="#6a727b", fontsize=7,
                ha="center", va="center", zorder=4)
        for key, label, colour in (("initiator_az", "initiator", "#0072B2"), ("partner_az", "partner", "#CC79A7")):
            az = getattr(state, key)
            if az is None or az == fwring.AZ_UNKNOWN:
                continue
            a = math.radians(az)
            x, y = 1.75 * math.cos(a), 1.75 * math.sin(a)
            ax.add_patch(Circle((x, y), 0.16, color=colour, zorder=3))
            ax.text(x, y - 0.3 if y < 0 else y + 0.3, label, color="#d0d0d0", fontsize=9,
                    ha="center", va="center", zorder=4)

    def show(self, grb: bytes) -> None:
        for led, colour in enumerate(display_colours(self.ring, grb)):
            if colour is None:
                self.leds[led].set_facecolor(_LED_OFF)
                self.glows[led].set_alpha(0.0)
            else:
                self.leds[led].set_facecolor(colour)
                self.glows[led].set_color(colour)
                self.glows[led].set_alpha(0.35 * max(colour))

    def image(self):
        from PIL import Image

        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", facecolor=_BACKGROUND)
        buf.seek(0)
        return Image.open(buf).convert("RGB")


def draw_png(ring: fwring.Ring, state: fwring.RingState, now_ms: int, path: str | Path,
             title: str = "", size_px: int = 360) -> Path:
    """Write one frame as a PNG of the ring seen from above."""
    fig = _Figure(ring, state, title, size_px)
    fig.show(render(ring, state, now_ms))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.image().save(path, format="PNG")  # whatever the file's name ends in
    return path


def draw_gif(ring: fwring.Ring, state: fwring.RingState, duration_ms: int, path: str | Path,
             title: str = "", fps: int = 10, size_px: int = 300) -> Path:
    """Write an animated GIF of `duration_ms` (looping) of the ring."""
    fig = _Figure(ring, state, title, size_px)
    frames = []
    step = 1000 // fps
    for now_ms in range(0, duration_ms, step):
        fig.show(render(ring, state, now_ms))
        frames.append(fig.image().quantize(colors=64))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:], duration=step, loop=0, optimize=True)
    return path


def gallery(out_dir: str | Path, board_path: str | Path | None = None) -> list[Path]:
    """Write every scenario's PNG (and GIF when it moves) into `out_dir`."""
    out_dir = Path(out_dir)
    written = []
    for sc in SCENARIOS:
        ring = load_ring(board_path, count=sc.count or None)
        state = make_state(sc.attrs)
        written.append(draw_png(ring, state, sc.still_ms, out_dir / f"{sc.name}.png", sc.title))
        if sc.animate_ms:
            written.append(draw_gif(ring, state, sc.animate_ms, out_dir / f"{sc.name}.gif", sc.title))
    return written
