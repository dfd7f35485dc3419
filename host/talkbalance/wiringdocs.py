"""Wiring table, wiring diagram and enclosure parameters, generated from the
board file so that they cannot drift from what the firmware reads.

`talkbalance wiring --out hardware/` writes:
- wiring.md                  connections, microphone and ring tables, power budget
- wiring.svg                 top view (microphones, ring) and the connections
- enclosure/board_params.scad  the geometry the OpenSCAD enclosure is built from

Everything here returns text; the command writes it. Output depends only on
the board file (fixed number formats, no dates), so a regenerated file is
byte-identical and a test can compare it with the committed one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from talkbalance.fw import ring as fwring

SOURCE_NOTE = "generated from hardware/board.json by `talkbalance wiring --out hardware/`; do not edit"

# Common WS2812 rings: LED count -> (outer, inner) diameter in mm.
RING_SIZES_MM = {12: (37.0, 23.0), 16: (44.5, 31.75), 24: (65.6, 52.3)}
_LED_PITCH_MM = 7.6   # other counts: LED pitch on the mean circle
_RING_WIDTH_MM = 6.8

# Power budget (mA). WS2812B: what a colour channel draws at full PWM is the
# board file's ring.channel_ma (20), about 1 mA per LED idle; INMP441 1.4 mA;
# ESP32-S3 module with the radio off, USB active and both cores busy, with
# margin.
LED_IDLE_MA = 1.0
MIC_MA = 1.4
MCU_MA = 120.0
USB_BUDGET_MA = 500.0


@dataclass(frozen=True)
class Connection:
    part: str
    part_pin: str
    to: str
    note: str = ""


def ring_size_mm(count: int) -> tuple[float, float]:
    """(outer, inner) diameter of a ring with `count` LEDs."""
    if count in RING_SIZES_MM:
        return RING_SIZES_MM[count]
    mean = count * _LED_PITCH_MM / math.pi
    return round(mean + _RING_WIDTH_MM, 1), round(mean - _RING_WIDTH_MM, 1)


def mic_azimuth_deg(mic: dict) -> float:
    return math.degrees(math.atan2(mic["y_m"], mic["x_m"])) % 360.0


def _bus_of(board: dict) -> dict[int, tuple[dict, int]]:
    out = {}
    for bus in board["i2s"]:
        for slot, ch in enumerate(bus["channels"]):
            out[ch] = (bus, slot)
    return out


def _mics(board: dict) -> list[dict]:
    return sorted(board["mics"], key=lambda m: m["channel"])


def connections(board: dict) -> list[Connection]:
    """Every wire of the build, in a fixed order."""
    out: list[Connection] = []
    bus_of = _bus_of(board)
    for mic in _mics(board):
        ch = mic["channel"]
        bus, slot = bus_of[ch]
        part = f"mic ch{ch} {mic.get('name', '')}".rstrip()
        out += [
            Connection(part, "VDD", "3V3"),
            Connection(part, "GND", "GND"),
            Connection(part, "SCK", f"GPIO{bus['sck']}", f"I2S{bus['id']} bit clock, shared by the pair"),
            Connection(part, "WS", f"GPIO{bus['ws']}", f"I2S{bus['id']} word select, shared by the pair"),
            Connection(part, "SD", f"GPIO{bus['sd']}", f"I2S{bus['id']} data, shared; 100 k pull-down to GND"),
            Connection(part, "L/R", "GND" if slot == 0 else "3V3",
                       "left slot" if slot == 0 else "right slot"),
        ]
    ring = board["ring"]
    out += [
        Connection("ring", "5V / VDD", "5V (USB VBUS)", "10 uF ceramic across 5V/GND at the ring (USB's limit)"),
        Connection("ring", "GND", "GND"),
        Connection("ring", "DIN", f"GPIO{ring['pin']}", "via 74AHCT1G125 (3.3 V to 5 V) and 330 ohm; "
                   "10 k pull-down on the shifter's input"),
        Connection("button", "1", f"GPIO{board['button']['pin']}",
                   "internal pull-up, active low" if board["button"].get("active_low", True)
                   else "internal pull-down, active high"),
        Connection("button", "2", "GND" if board["button"].get("active_low", True) else "3V3"),
    ]
    return out


def power_budget(board: dict) -> dict[str, float]:
    ring = board["ring"]
    duty = ring["max_brightness"] / 255.0
    leds_max = ring["count"] * (3 * ring["channel_ma"] * duty + LED_IDLE_MA)
    leds_full = ring["count"] * (3 * ring["channel_ma"] + LED_IDLE_MA)
    mics = board["channels"] * MIC_MA
    total = leds_max + mics + MCU_MA
    return {
        "leds_capped_ma": leds_max,
        "leds_uncapped_ma": leds_full,
        "mics_ma": mics,
        "mcu_ma": MCU_MA,
        "total_ma": total,
        "usb_ma": USB_BUDGET_MA,
        "headroom_ma": USB_BUDGET_MA - total,
    }


def max_safe_brightness(board: dict) -> int:
    """Highest ring.max_brightness whose worst case (all white) fits USB."""
    ring = board["ring"]
    spare = USB_BUDGET_MA - MCU_MA - board["channels"] * MIC_MA - ring["count"] * LED_IDLE_MA
    cap = int(spare / (ring["count"] * 3 * ring["channel_ma"]) * 255)
    return max(0, min(255, cap))


def wiring_markdown(board: dict) -> str:
    ring = board["ring"]
    bus_of = _bus_of(board)
    lines = [
        f"# Wiring: {board.get('name', '?')} ({board.get('chip', '?')})",
        "",
        f"<!-- {SOURCE_NOTE} -->",
        "",
        f"Sample rate {board['sample_rate_hz']} Hz, {board['channels']} microphones on "
        f"{len(board['i2s'])} I2S bus(es), {ring['count']}-LED ring. Diagram: [wiring.svg](wiring.svg).",
        "",
        "## Connections",
        "",
        "| part | pin | to | note |",
        "|---|---|---|---|",
    ]
    for c in connections(board):
        lines.append(f"| {c.part} | {c.part_pin} | {c.to} | {c.note} |")
    lines += [
        "",
        "## Microphones",
        "",
        "Positions in millimetres from the centre of the puck, x to the right, y forward",
        "(towards the USB socket's opposite side), azimuth counter-clockwise from +x.",
        "",
        "| channel | name | x mm | y mm | azimuth | I2S bus | slot | L/R pin | nearest LED |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    leds = fwring.from_board(board)  # the firmware's ring: which LED is where
    for mic in _mics(board):
        bus, slot = bus_of[mic["channel"]]
        az = mic_azimuth_deg(mic)
        lines.append(
            f"| {mic['channel']} | {mic.get('name', '')} | {mic['x_m'] * 1000:+.1f} | {mic['y_m'] * 1000:+.1f} "
            f"| {az:.1f} | {bus['id']} | {'L' if slot == 0 else 'R'} | {'GND' if slot == 0 else '3V3'} "
            f"| {leds.led_of(az)} |"
        )
    lines += ["", "| pair | plus | minus | spacing mm | max lag (samples) |", "|---|---|---|---|---|"]
    for i, (plus, minus, spacing) in enumerate(board["pair_lags"]):
        name = board["pairs"][i].get("name", str(i))
        lag = spacing / board["speed_of_sound_m_s"] * board["sample_rate_hz"]
        lines.append(f"| {name} | ch{plus} | ch{minus} | {spacing * 1000:.1f} | {lag:.2f} |")
    outer, inner = ring_size_mm(ring["count"])
    lines += [
        "",
        "## Ring",
        "",
        f"{ring['count']} LEDs, about {outer:.1f} mm outside / {inner:.1f} mm inside diameter; "
        f"LED 0 at azimuth {ring['led0_azimuth_deg']:.1f} degrees, numbered {ring['direction']}; "
        f"brightness capped at {ring['max_brightness']}/255.",
        "",
        "| LED | azimuth |",
        "|---|---|",
    ]
    for i in range(ring["count"]):
        lines.append(f"| {i} | {leds.led_azimuth(i):.1f} |")
    p = power_budget(board)
    lines += [
        "",
        "## Power budget on USB",
        "",
        "| consumer | mA |",
        "|---|---|",
        f"| ring, all LEDs white at the cap ({ring['max_brightness']}/255) | {p['leds_capped_ma']:.0f} |",
        f"| microphones ({board['channels']} x {MIC_MA} mA) | {p['mics_ma']:.1f} |",
        f"| ESP32-S3 board, radio off | {p['mcu_ma']:.0f} |",
        f"| **total, worst case** | **{p['total_ma']:.0f}** |",
        f"| USB 2.0 port budget | {p['usb_ma']:.0f} |",
        f"| headroom | {p['headroom_ma']:.0f} |",
        "",
        f"Without the firmware cap the ring alone could draw {p['leds_uncapped_ma']:.0f} mA "
        f"({ring['channel_ma']} mA per colour channel, `ring.channel_ma`). The highest `ring.max_brightness` "
        f"whose worst case fits the USB budget with this ring is **{max_safe_brightness(board)}**. Whatever the "
        f"cap, the firmware holds the sum of the ring's channel values at or below what `ring.budget_ma` "
        f"({ring['budget_ma']} mA) allows.",
        "",
    ]
    return "\n".join(lines)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_WIRE_COLOURS = {"3V3": "#d62728", "5V (USB VBUS)": "#ff7f0e", "GND": "#333333"}


def wiring_svg(board: dict) -> str:
    """A two-panel SVG: top view to scale, and every connection as a wire."""
    ring = board["ring"]
    conns = connections(board)
    width = 1000
    row = 22
    height = max(460, 90 + row * len(conns))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f"<desc>{_esc(SOURCE_NOTE)}</desc>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>',
        f'<text x="20" y="28" font-size="16">{_esc(board.get("name", "?"))}: top view (to scale)</text>',
    ]
    # Top view: centre (210, 250), mm -> px scale fitting the farthest part.
    cx, cy = 210.0, 250.0
    outer, inner = ring_size_mm(ring["count"])
    reach = max([outer / 2] + [math.hypot(m["x_m"], m["y_m"]) * 1000 for m in board["mics"]]) + 12
    scale = 170.0 / reach

    def pt(x_mm: float, y_mm: float) -> tuple[float, float]:
        return cx + x_mm * scale, cy - y_mm * scale

    out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{reach * scale:.1f}" fill="#f4f4f4" stroke="#999"/>')
    out.append(f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{cx + 60:.1f}" y2="{cy:.1f}" stroke="#999" '
               'stroke-dasharray="3,3"/>')
    out.append(f'<text x="{cx + 62:.1f}" y="{cy + 4:.1f}" fill="#999">+x</text>')
    out.append(f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{cx:.1f}" y2="{cy - 60:.1f}" stroke="#999" '
               'stroke-dasharray="3,3"/>')
    out.append(f'<text x="{cx - 8:.1f}" y="{cy - 64:.1f}" fill="#999">+y</text>')
    mean_r = (outer + inner) / 4
    out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{mean_r * scale:.1f}" fill="none" stroke="#bbb" '
               f'stroke-width="{(outer - inner) / 2 * scale:.1f}"/>')
    leds = fwring.from_board(board)
    for i in range(ring["count"]):
        a = math.radians(leds.led_azimuth(i))
        x, y = pt(mean_r * math.cos(a), mean_r * math.sin(a))
        fill = "#2ca02c" if i == 0 else "#ffffff"
        out.append(f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{fill}" stroke="#555"/>')
        lx, ly = pt((mean_r - 7) * math.cos(a), (mean_r - 7) * math.sin(a))
        out.append(f'<text x="{lx:.1f}" y="{ly + 4:.1f}" text-anchor="middle" font-size="9">{i}</text>')
    for mic in _mics(board):
        x, y = pt(mic["x_m"] * 1000, mic["y_m"] * 1000)
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="#1f77b4"/>')
        label = f"ch{mic['channel']} {mic.get('name', '')}".rstrip()
        out.append(f'<text x="{x:.1f}" y="{y + 20:.1f}" text-anchor="middle">{_esc(label)}</text>')
    out.append(f'<text x="20" y="{cy + 205:.0f}" fill="#555">LED 0 green; LEDs numbered {ring["direction"]}; '
               "microphone ports face up through the lid.</text>")
    # Connections: ESP32 pins on the left of the panel, parts on the right.
    x_pin, x_part = 560.0, 760.0
    out.append(f'<text x="{x_pin - 105:.0f}" y="28" font-size="16">connections</text>')
    out.append(f'<rect x="{x_pin - 105:.0f}" y="45" width="110" height="{row * len(conns) + 20}" '
               'fill="#e8eef8" stroke="#1f3b70"/>')
    out.append(f'<text x="{x_pin - 100:.0f}" y="40">{_esc(board.get("chip", "ESP32").upper())}</text>')
    for i, c in enumerate(conns):
        y = 65 + i * row
        colour = _WIRE_COLOURS.get(c.to, "#1f77b4")
        out.append(f'<text x="{x_pin - 5:.0f}" y="{y + 4}" text-anchor="end">{_esc(c.to)}</text>')
        out.append(f'<line x1="{x_pin:.0f}" y1="{y}" x2="{x_part:.0f}" y2="{y}" stroke="{colour}" '
                   'stroke-width="2"/>')
        out.append(f'<circle cx="{x_pin:.0f}" cy="{y}" r="3" fill="{colour}"/>')
        out.append(f'<text x="{x_part + 5:.0f}" y="{y + 4}">{_esc(c.part)} {_esc(c.part_pin)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def scad_params(board: dict) -> str:
    """OpenSCAD include with the geometry of the board file (millimetres)."""
    ring = board["ring"]
    outer, inner = ring_size_mm(ring["count"])
    mics = ", ".join(
        f"[{m['x_m'] * 1000:.2f}, {m['y_m'] * 1000:.2f}, {m['channel']}]" for m in _mics(board)
    )
    return "\n".join([
        f"// {SOURCE_NOTE}",
        f"board_name = \"{board.get('name', '?')}\";",
        f"mics = [{mics}];  // [x mm, y mm, channel]",
        f"ring_count = {ring['count']};",
        f"ring_od = {outer:.2f};",
        f"ring_id = {inner:.2f};",
        f"ring_led0_deg = {ring['led0_azimuth_deg']:.2f};",
        f"ring_dir = {1 if ring['direction'] == 'ccw' else -1};  // 1 counter-clockwise, -1 clockwise",
        "",
    ])


def outputs(board: dict) -> dict[str, str]:
    """Relative path -> text of every generated file."""
    return {
        "wiring.md": wiring_markdown(board),
        "wiring.svg": wiring_svg(board),
        "enclosure/board_params.scad": scad_params(board),
    }


def write(board: dict, out_dir: Path) -> list[Path]:
    written = []
    for rel, text in outputs(board).items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def drift(board: dict, out_dir: Path) -> list[str]:
    """Generated files in out_dir that are missing or differ from the board file."""
    stale = []
    for rel, text in outputs(board).items():
        path = out_dir / rel
        if not path.is_file() or path.read_text() != text:
            stale.append(rel)
    return stale
