"""Serial ports on this computer and which of them is likely the device.

A talkbalance puck is an ESP32 board: either the ESP32-S3's own USB port
(Espressif's vendor id 303a) or a USB-serial bridge chip beside a plain
ESP32 (CP210x, CH340/CH9102, FTDI). Ports are marked by their USB vendor and
product ids; every command finds the device by itself when exactly one such
port is attached, and takes `--port` (any pyserial URL) otherwise. Simulated
devices started with `talkbalance sim` are listed and marked too
(talkbalance.simports).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from talkbalance import simports
from talkbalance.errors import LinkError

PORT_ENV = "TALKBALANCE_PORT"

# (vendor id, product id or None for any) -> what it is
KNOWN_USB: dict[tuple[int, int | None], str] = {
    (0x303A, None): "Espressif native USB (ESP32-S3/C3)",
    (0x10C4, 0xEA60): "Silicon Labs CP210x USB-serial",
    (0x1A86, 0x7523): "WCH CH340 USB-serial",
    (0x1A86, 0x55D4): "WCH CH9102 USB-serial",
    (0x0403, 0x6001): "FTDI FT232R USB-serial",
    (0x0403, 0x6015): "FTDI FT231X USB-serial",
}


@dataclass(frozen=True)
class Port:
    device: str  # the path (or name) to open
    description: str
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    kind: str = ""  # what KNOWN_USB says it is; "" when it is not a likely device
    simulated: bool = False  # a device run by `talkbalance sim`

    @property
    def likely(self) -> bool:
        return bool(self.kind)

    @property
    def usb_id(self) -> str:
        return "" if self.vid is None else f"{self.vid:04x}:{(self.pid or 0):04x}"

    def as_dict(self) -> dict:
        return {"port": self.device, "usb": self.usb_id or None, "description": self.description,
                "serial_number": self.serial_number, "likely": self.likely, "kind": self.kind or None,
                "simulated": self.simulated}


def classify(vid: int | None, pid: int | None) -> str:
    """What a USB id is, or "" when it is not a board talkbalance runs on."""
    if vid is None:
        return ""
    return KNOWN_USB.get((vid, pid)) or KNOWN_USB.get((vid, None)) or ""


def _system_ports() -> Iterable:
    from serial.tools import list_ports

    return list_ports.comports()


def _simulated() -> list[Port]:
    return [Port(sim.port, f"talkbalance sim, pid {sim.pid}, flash {sim.flash}",
                 kind=f"simulated talkbalance device (talkbalance sim, pid {sim.pid})", simulated=True)
            for sim in simports.running()]


def list_ports(source: Callable[[], Iterable] | None = None,
               simulated: Callable[[], list[Port]] = _simulated) -> list[Port]:
    """Every serial port and running simulated device, likely devices first,
    then by name."""
    out = simulated()
    seen = {p.device for p in out}
    for info in (source or _system_ports)():
        if info.device in seen:
            continue
        vid = getattr(info, "vid", None)
        pid = getattr(info, "pid", None)
        desc = getattr(info, "description", "") or ""
        out.append(Port(info.device, "" if desc == "n/a" else desc, vid, pid,
                        getattr(info, "serial_number", None), classify(vid, pid)))
    out.sort(key=lambda p: (not p.likely, p.device))
    return out


def find_device(port: str | None = None, source: Callable[[], Iterable] | None = None) -> str:
    """The port to open: `port` when given (any pyserial URL), else the
    TALKBALANCE_PORT environment variable, else the one likely device."""
    if port:
        return port
    env = os.environ.get(PORT_ENV)
    if env:
        return env
    likely = [p for p in list_ports(source) if p.likely]
    if not likely:
        raise LinkError("no talkbalance device found",
                        "plug the puck in with a data USB cable, or name the port with --port "
                        "(talkbalance ports lists them)")
    if len(likely) > 1:
        names = ", ".join(p.device for p in likely)
        raise LinkError(f"several possible devices: {names}", "choose one with --port")
    return likely[0].device
