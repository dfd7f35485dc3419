"""Run the firmware pipeline over a recording and return its sessions.

The pipeline runs on the MicroPython unix port (the real runtime). The
recording is read by `talkbalance.recording` (any WAV rate, integer width or
float) and streamed to it as 16-bit audio at the board's rate; a recording
already in that form goes in as it is. As on the device, a session that ends
(silence, maximum length) is recorded and listening starts over, so every
conversation in the recording is found. Each record is the same object the
device stores and syncs (docs/record.md); its `start` is its offset in the
recording, in whole seconds.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from talkbalance import boardfile, paths, recording
from talkbalance.errors import InputError, TalkbalanceError
from talkbalance.fw import config as fwconfig
from talkbalance.records import mmss
from talkbalance.text import plural

MAIN = paths.MP_DIR / "analyze_main.py"
_NO_LEVEL_Q8 = -32768
# A frame this loud (its level is RMS-equivalent, docs/frontend.md) is full
# scale: speech reaches -10 dBFS at most, a clipped square wave +2.
_FULL_SCALE_DBFS = -3.0
_QUIET_DBFS = -55.0  # a microphone's own noise is under this; a room's steady sound over it


@dataclass
class Analysis:
    sessions: list[dict]  # the session records, in the order they start
    frames: str  # per-frame codes over the whole recording (see mp/analyze_main.py), "" unless asked
    audio_s: float  # audio analysed
    speech_s: float  # speech heard by the front end, in or out of sessions
    loudest_dbfs: float | None  # the loudest frame's level; None for no audio
    conversion: str | None = None  # how the recording was converted on the way in
    frame_ms: int = 20
    dead_s: list[float] = field(default_factory=list)  # per channel: time the front end held it dead

    def dead_text(self) -> str:
        """The microphones the front end held dead or disconnected for a
        tenth of the audio or more, in words ("" for none)."""
        found = [(ch, s) for ch, s in enumerate(self.dead_s) if self.audio_s and s >= 0.1 * self.audio_s]
        if not found:
            return ""
        parts = ", ".join(f"channel {ch} for {mmss(s)}" for ch, s in found)
        return (f"a microphone was silent or disconnected ({parts} of {mmss(self.audio_s)}): directions came "
                f"from the other pair alone, or from none")

    def longest(self) -> dict | None:
        """The longest session's record (a recording of one conversation)."""
        return max(self.sessions, key=lambda r: r["duration_s"], default=None)

    def no_session_reason(self) -> str:
        """Why a recording gave no session, in words (empty when it gave one)."""
        if self.sessions:
            return ""
        length = mmss(self.audio_s)
        if self.audio_s < 1:
            return "no session: the recording holds no audio"
        dead = self.dead_text()
        if dead and self.speech_s > 0:
            return f"no session: speech for {mmss(self.speech_s)} in {length} of audio, but {dead}"
        if self.speech_s == 0:
            level = "" if self.loudest_dbfs is None else f"; its loudest moment is {self.loudest_dbfs:.0f} dBFS"
            loudest = self.loudest_dbfs
            if loudest is not None and loudest >= _FULL_SCALE_DBFS:
                why = "full scale throughout: clipped by too much gain (gain_shift?) or a fault on the line"
            elif loudest is not None and loudest >= _QUIET_DBFS:
                why = "sound, but nothing rising over it as speech does: a steady tone or noise, or the wrong channels?"
            else:
                why = "a silent or very quiet recording, or the wrong channels?"
            return f"no session: no speech in {length} of audio{level} ({why})"
        return (f"no session: speech for {mmss(self.speech_s)} in {length} of audio, but never two talkers "
                f"from two directions; a session starts once both are heard (one voice, or talkers "
                f"too close in direction, or the channels not in the board's order?)")


def one_pair_board(desc: dict) -> dict:
    """The board reduced to its first pair (for a 2-channel recording)."""
    plus, minus = desc["pairs"][0]["plus"], desc["pairs"][0]["minus"]
    keep = {plus: 0, minus: 1}
    out = {k: v for k, v in desc.items() if k not in ("channels", "pair_lags")}
    out["mics"] = [dict(m, channel=keep[m["channel"]]) for m in desc["mics"] if m["channel"] in keep]
    out["i2s"] = [dict(desc["i2s"][0], channels=[0, 1])]
    out["pairs"] = [dict(desc["pairs"][0], plus=0, minus=1)]
    return out


def open_recording(wav_path: str | Path, desc: dict) -> recording.WavFormat:
    """The recording's format, checked against the board: 2 channels (one
    pair) or the board's own count; the rate convertible to the board's."""
    fmt = recording.read_format(wav_path)
    if fmt.channels not in (2, desc["channels"]):
        raise InputError(f"{fmt.path}: {plural(fmt.channels, 'channel')}; 2 (one pair) or {desc['channels']} "
                         f"(the board's microphones, in its channel order) are needed")
    recording.check_rate(fmt, desc["sample_rate_hz"])
    return fmt


def _feed(fmt: recording.WavFormat, rate: int, sink: IO[bytes], failed: list[BaseException]) -> None:
    """Write the converted audio into the pipeline's standard input."""
    try:
        for chunk in recording.pcm16_chunks(fmt, rate):
            sink.write(chunk)
    except BrokenPipeError:
        pass  # the pipeline stopped early; its own output says why
    except Exception as exc:  # handed to the caller's thread and raised there
        failed.append(exc)
    finally:
        try:
            sink.close()
        except BrokenPipeError:
            pass


def analyze(wav_path: str | Path, board_path: str | Path | None = None,
            overrides: dict | None = None, frames: bool = False,
            progress: Callable[[float, float], None] | None = None,
            converting: Callable[[str], None] | None = None) -> Analysis:
    """Every session in the recording. progress(done_s, total_s) is called
    as the audio goes through (every 30 s of audio); converting(note) before
    the analysis starts, if the recording is converted on the way in."""
    desc = boardfile.load(board_path)
    try:
        cfg = fwconfig.merge_user(overrides or {})
    except fwconfig.ConfigError as exc:
        raise InputError(f"config: {exc}") from None
    fmt = open_recording(wav_path, desc)
    rate = desc["sample_rate_hz"]
    total_frames = recording.output_frames(fmt, rate)
    data_bytes = total_frames * 2 * fmt.channels
    frame_s = cfg["frame_ms"] / 1000
    note = fmt.conversion(rate)
    if note and converting is not None:
        converting(note)
    with tempfile.TemporaryDirectory(prefix="tb-analyze-") as tmp:
        board_file = Path(board_path) if board_path else paths.board_path()
        if fmt.channels == 2 and desc["channels"] != 2:
            board_file = Path(tmp) / "board.json"
            board_file.write_text(json.dumps(one_pair_board(desc)))
        cfg_file = Path(tmp) / "config.json"
        cfg_file.write_text(json.dumps(cfg))
        cmd = paths.micropython() + [str(MAIN), str(paths.firmware_dir()), str(board_file), str(cfg_file),
                                     str(data_bytes)]
        if frames:
            cmd.append("frames")
        failed: list[BaseException] = []
        feeder = None
        with open(fmt.path, "rb") as wav_file:
            if fmt.is_pcm16(rate):  # already the pipeline's form: the file itself is its input
                wav_file.seek(fmt.data_offset)
                proc = subprocess.Popen(cmd, stdin=wav_file, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            else:
                proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                assert proc.stdin is not None
                feeder = threading.Thread(target=_feed, args=(fmt, rate, proc.stdin, failed), daemon=True)
                feeder.start()
            errors: list[bytes] = []
            drain = threading.Thread(target=lambda: errors.append(proc.stderr.read() if proc.stderr else b""),
                                     daemon=True)
            drain.start()
            sessions, codes, end, tail, error = _read_output(proc, progress, frame_s, total_frames / rate)
            if error:
                proc.kill()
            proc.wait()
            drain.join()
            if feeder is not None:
                feeder.join()
    if error:
        raise InputError(f"{fmt.path}: {error}")
    if failed:
        if isinstance(failed[0], OSError):
            raise InputError(f"{fmt.path}: could not be read ({failed[0]})")
        raise failed[0]
    if proc.returncode != 0 or end is None:
        raise TalkbalanceError(f"the firmware pipeline failed on {fmt.path}:\n"
                               f"{tail[-1500:]}{b''.join(errors).decode(errors='replace')[-1500:]}")
    n, speech, loudest, dead = end
    want = data_bytes // (rate * cfg["frame_ms"] // 1000 * 2 * fmt.channels)
    if n < want:  # the file shrank, or its audio stopped coming
        raise InputError(f"{fmt.path}: the audio stopped after {mmss(n * frame_s)} of {mmss(want * frame_s)}",
                         "was the file changed while it was read?")
    return Analysis(sessions, codes, audio_s=n * frame_s, speech_s=speech * frame_s,
                    loudest_dbfs=None if loudest == _NO_LEVEL_Q8 else loudest / 256,
                    conversion=note, frame_ms=cfg["frame_ms"], dead_s=[d * frame_s for d in dead])


def _read_output(proc: subprocess.Popen, progress: Callable[[float, float], None] | None, frame_s: float,
                 total_s: float) -> tuple[list[dict], str, tuple[int, int, int, list[int]] | None, str, str]:
    """The pipeline's output lines: records, frame codes, the closing counts,
    other output (for a failure's message), an error it reported."""
    sessions: list[dict] = []
    codes, end, tail = "", None, ""
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.decode(errors="replace").rstrip("\n")
        if line.startswith("@@SESSION "):
            sessions.append(json.loads(line[10:]))
        elif line.startswith("@@PROGRESS "):
            if progress is not None:
                progress(int(line[11:]) * frame_s, total_s)
        elif line.startswith("@@FRAMES "):
            codes = line[9:]
        elif line.startswith("@@END "):
            n, speech, loudest, dead = line[6:].split()
            end = (int(n), int(speech), int(loudest), [int(d) for d in dead.split(",")])
        elif line.startswith("@@ERROR "):
            return sessions, codes, end, tail, line[8:]
        else:
            tail = (tail + line + "\n")[-1500:]
    return sessions, codes, end, tail, ""
