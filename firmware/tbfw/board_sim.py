# Simulated board for the MicroPython unix port: the same Board interface as
# board_esp32 (docs/board.md), with
#   audio   from a WAV file in the board's channel order (TB_AUDIO), paced at
#           TB_SPEED times real time (0: as fast as it goes); after the end
#           of the recording the room is silent, paced in real time
#   ring    frames appended to TB_LEDS as lines "<ticks_ms> <hex GRB>", only
#           when they change
#   button  scripted by TB_BUTTON: lines "<audio ms> down|up"
#   flash   the current directory (the launcher starts the device in it;
#           paths are relative to it, as they are to "/" on a board)
#   serial  stdin/stdout, which the launcher connects to a pseudo-terminal;
#           a Ctrl-C byte (0x03) raises KeyboardInterrupt as on a board
#   clock   audio time: ticks_ms and time() advance one frame per frame, so a
#           session paced faster than real time still reads in real seconds;
#           a process start is a power-up: the clock is unset (2026-01-01)
#           until the host sets it
# Settings come from environment variables set by `talkbalance sim`.

import os
import select
import sys
import time

from micropython import const

from tbfw import config

_SERIAL_WRITE_MAX = const(256)
_QUIET_BYTES = const(256)  # the quiet room's noise pattern, repeated over the frame
_CTRL_C = const(3)
# Audio the ESP32's I2S DMA queue holds while the loop is late (board_esp32:
# ESP-IDF's queue of desc_num - 1 buffers, 144 ms): later than this, samples
# are lost.
_QUEUE_US = const(144000)
_EPOCH_DEFAULT = const(1767225600)  # 2026-01-01, until the host sets the clock

# Bytes that followed a Ctrl-C, for the REPL that takes over.
PENDING = bytearray()


class SimBoard:
    frame_format = "pcm16"

    def __init__(self, board_path, audio_path=None, speed=0.0, leds_path=None, button_path=None, flash_dir="."):
        self.desc = config.load_board(board_path)
        self.flash_dir = flash_dir + "/data"
        self.config_path = flash_dir + "/config.json"
        self.lost_samples = 0
        self.mic_fault = False
        self.speed = speed
        self.frames = 0
        self.frame_samples = 0
        self.frame_ms = 20
        self._wav = None
        if audio_path:
            from tbfw.wav import WavReader  # only a board that plays a recording needs it

            self._wav = WavReader(open(audio_path, "rb"))
            if self._wav.rate != self.desc["sample_rate_hz"]:
                raise config.ConfigError("audio", "WAV rate %d Hz, board rate %d Hz" % (
                    self._wav.rate, self.desc["sample_rate_hz"]))
            if self._wav.channels != self.desc["channels"]:
                raise config.ConfigError("audio", "WAV has %d channels, board has %d microphones" % (
                    self._wav.channels, self.desc["channels"]))
        self.audio_ended = self._wav is None
        self._pcm = None
        self._leds = open(leds_path, "a") if leds_path else None
        self._last_leds = bytearray(3 * self.desc["ring"]["count"])
        self._script = _load_script(button_path) if button_path else []
        self._pressed = False
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._in_poll = select.poll()
        self._in_poll.register(sys.stdin, select.POLLIN)
        self._out_poll = select.poll()
        self._out_poll.register(sys.stdout, select.POLLOUT)
        self._one = bytearray(1)
        self._epoch = _EPOCH_DEFAULT
        self._clock_set = False
        self._pace_speed = 0.0
        self._pace_frames = 0
        self._pace_us = 0
        self._id = _device_id(flash_dir)

    # -- audio
    def start_audio(self, frame_samples):
        """The frame buffer (interleaved int16 PCM, all channels), allocated once."""
        self.frame_samples = frame_samples
        self.frame_ms = frame_samples * 1000 // self.desc["sample_rate_hz"]
        self._pcm = bytearray(frame_samples * 2 * self.desc["channels"])
        # The room after the recording: quiet microphone self-noise (about
        # -84 dBFS), not digital zeros, which the front end reports as a fault.
        # A short random pattern, repeated: a frame-sized copy would cost as
        # much heap as the frame itself.
        quiet = bytearray(os.urandom(_QUIET_BYTES))
        for i in range(0, _QUIET_BYTES, 2):
            quiet[i] = (quiet[i] & 7) - 4 & 0xFF
            quiet[i + 1] = 0xFF if quiet[i] & 0x80 else 0
        self._quiet = quiet
        self._quiet_tail = memoryview(quiet)[:len(self._pcm) % _QUIET_BYTES]
        return self._pcm

    def read_frame(self):
        pcm = self._pcm
        if pcm is None:
            pcm = self.start_audio(self.desc["sample_rate_hz"] // 50)
        if not self.audio_ended:
            wav = self._wav
            if wav is not None and wav.readinto(pcm) == len(pcm):
                self.frames += 1
                self._pace(self.speed)
                return True
            self.audio_ended = True
            self.log("audio-ended after %d frames" % self.frames)
        whole = len(pcm) - len(self._quiet_tail)
        for pos in range(0, whole, _QUIET_BYTES):
            pcm[pos:pos + _QUIET_BYTES] = self._quiet
        pcm[whole:] = self._quiet_tail
        self.frames += 1
        self._pace(1.0)
        return True

    def _pace(self, speed):
        """Sleep so that audio time runs at `speed` times real time."""
        if speed <= 0:
            return
        if speed != self._pace_speed:  # re-anchor when the pace changes
            self._pace_speed = speed
            self._pace_frames = self.frames
            self._pace_us = time.ticks_us()
        due_us = int((self.frames - self._pace_frames) * self.frame_ms * 1000 / speed)
        ahead = due_us - time.ticks_diff(time.ticks_us(), self._pace_us)
        if ahead > 1000:
            time.sleep_us(ahead)
        elif ahead < -_QUEUE_US:
            if speed == 1.0:
                self._overflow(-ahead)
            else:  # faster than real time: the host is slow, no device would lose audio
                self._pace_speed = 0.0

    def _overflow(self, late_us):
        """Real time: the loop came later than the I2S DMA queue holds. As on
        the ESP32, the audio in between is gone; count it (lost_samples)."""
        frame_us = self.frame_ms * 1000
        lost = (late_us - _QUEUE_US) // frame_us + 1
        wav = self._wav
        pcm = self._pcm
        for _ in range(lost):
            if wav is None or pcm is None or self.audio_ended or wav.readinto(pcm) != len(pcm):
                self.audio_ended = True
            self.frames += 1
        self.lost_samples += lost * self.frame_samples
        self.log("warn-audio-lost %d frames (loop %d ms late)" % (lost, late_us // 1000))

    # -- ring
    def ring_write(self, grb):
        if self._leds is None or grb == self._last_leds:
            return
        self._last_leds[:] = grb
        self._leds.write("%d %s\n" % (self.ticks_ms(), grb.hex()))
        self._leds.flush()

    # -- button
    def button_pressed(self):
        now = self.ticks_ms()
        script = self._script
        while script and script[0][0] <= now:
            self._pressed = script.pop(0)[1]
        return self._pressed

    # -- serial
    def serial_read(self, buf):
        n = 0
        cap = len(buf)
        one = self._one
        while n < cap and config.read_waiting_byte(self._in_poll, self._in, one):
            if one[0] == _CTRL_C:
                self._interrupt()
            buf[n] = one[0]
            n += 1
        return n

    def _interrupt(self):
        # What the board's USB/UART driver does with Ctrl-C: stop the program.
        # Keep what follows for the REPL (mpremote sends "\r\x01" right after).
        while config.read_waiting_byte(self._in_poll, self._in, self._one):
            PENDING.append(self._one[0])
        raise KeyboardInterrupt

    def serial_write(self, data):
        ready = False
        for _event in self._out_poll.ipoll(0):
            ready = True
        if not ready:
            return 0
        if len(data) > _SERIAL_WRITE_MAX:
            data = memoryview(data)[:_SERIAL_WRITE_MAX]
        n = self._out.write(data) or 0
        self._out.flush()
        return n

    # -- clock, identity, watchdog
    def ticks_ms(self):
        return (self.frames * self.frame_ms) & 0x3FFFFFFF

    def time(self):
        return self._epoch + self.frames * self.frame_ms // 1000

    def set_time(self, epoch):
        self._epoch = int(epoch) - self.frames * self.frame_ms // 1000
        self._clock_set = True

    def clock_is_set(self):
        return self._clock_set

    def device_id(self):
        return self._id

    def wdt_feed(self):
        pass

    def stop(self):
        # The ring dark, as the ESP32 board leaves it; what is written after
        # (the crash handler's error pattern) still reaches the log.
        if self._leds is not None:
            self.ring_write(bytearray(len(self._last_leds)))
            self._leds.flush()

    def reboot(self):
        self.log("reboot")
        sys.exit(3)  # the launcher restarts the device, as a board restarts

    def log(self, text):
        sys.stderr.write("[device] %s\n" % text)


def _load_script(path):
    out = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and parts[1] in ("down", "up"):
                out.append((int(parts[0]), parts[1] == "down"))
    out.sort()
    return out


def _device_id(flash_dir):
    """A stable id per simulated flash: made once, kept in the flash."""
    path = flash_dir + "/.device_id"
    try:
        with open(path) as f:
            ident = f.read().strip()
            if ident:
                return ident
    except OSError:
        pass
    ident = "sim" + "".join("%02x" % b for b in os.urandom(3))
    with open(path, "w") as f:
        f.write(ident)
    return ident


def make():
    speed = os.getenv("TB_SPEED")
    return SimBoard(
        os.getenv("TB_BOARD") or "board.json",
        audio_path=os.getenv("TB_AUDIO") or None,
        speed=float(speed) if speed else 0.0,
        leds_path=os.getenv("TB_LEDS") or None,
        button_path=os.getenv("TB_BUTTON") or None,
    )
