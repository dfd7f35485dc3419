# The firmware on the chip-like board (tests/fwchip/chip.py): the ESP32
# board module and the app, with the UART REPL's FIFO and tick sleep, flash
# erases that hold off the I2S interrupt, ESP-IDF's I2S queue depth and a
# virtual clock. Each test prints its figures as one "chip-figures" line.
import sys

_HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.insert(0, _HERE + "/../fwchip")  # the clock and os stand-ins, before anything imports them
sys.path.insert(1, _HERE + "/../fwstubs")

import chip  # noqa: E402
import fwlib  # noqa: E402
import machine  # noqa: E402
from tbfw import config, session, wire  # noqa: E402

_FRAME_US = 20000
_RUNS = [0]


class Host:
    """The laptop at the other end of the UART: sends requests, decodes
    what reached the line, fetches one record again and again."""

    def __init__(self, c):
        self.chip = c
        c.uart.take()  # what the device said before the host came
        self.decoder = wire.Decoder()
        self.next_id = 1
        self.answers = {}  # id -> final frame
        self.get_id = 0
        self.asm = None
        self.records_got = 0
        self.record_bytes = 0
        self.refetches = 0

    def send(self, name, args=None):
        ident = self.next_id
        self.next_id += 1
        self.chip.host_in.data += b"\n" + wire.request(ident, name, args)
        return ident

    def poll(self):
        for msg in self.decoder.feed(self.chip.uart.take()):
            if msg.id == self.get_id and msg.kind in ("part", "ok"):
                try:
                    if msg.kind == "part":
                        self.asm.add(msg)
                        continue
                    data = self.asm.finish(msg)
                except wire.WireError:  # a part spoilt on the line: fetch again
                    self.refetches += 1
                    self.get_id = 0
                    continue
                self.records_got += 1
                self.record_bytes += len(data)
                self.get_id = 0
            elif msg.kind in ("ok", "err"):
                self.answers[msg.id] = msg

    def fetch(self, rec_id):
        """Ask for the record unless a fetch is under way (full rate)."""
        if not self.get_id:
            self.get_id = self.send("get", {"rec": rec_id})
            self.asm = wire.Assembler(rec_id)


def _app(chip_name="esp32s3"):
    from tbfw import app

    _RUNS[0] += 1
    flash = fwlib.scratch_dir() + "/chip%d" % _RUNS[0]
    import os

    os.mkdir(flash)
    c = chip.Chip(flash, chip_name)
    c.install()
    path = fwlib.board_path()
    if chip_name == "esp32":
        path = path.rsplit("/", 1)[0] + "/board-esp32-devkitc.json"
    board = c.board(config.load_board(path))
    return c, app.App(board)


def _lost_truth():
    return sum(i2s.dropped_frames for i2s in machine.SIM["i2s"].values())


class Run:
    """Frames of the app with the loop's period and the lost audio measured."""

    def __init__(self, c, a):
        self.c = c
        self.a = a
        self.periods = 0
        self.worst_period_us = 0
        self.sum_period_us = 0
        self._last = -1

    def frames(self, n, each=None):
        for _ in range(n):
            assert self.a.step()
            now = chip.now_us()
            if self._last >= 0:
                period = now - self._last
                self.periods += 1
                self.sum_period_us += period
                self.worst_period_us = max(self.worst_period_us, period)
            self._last = now
            if each is not None:
                each()


def _record(c, a, seconds):
    """A real session of `seconds`, saved: the record to sync."""
    run = Run(c, a)
    run.frames(50)
    a.answers.session("start")
    run.frames(seconds * 50)
    a.answers.session("stop")
    run.frames(100)  # the save's stall behind us, the loss window closed
    recs = a.answers.records()
    assert len(recs) == 1 and not recs[0]["synced"], recs
    return recs[0]["id"]


def _figures(name, **figures):
    print("chip-figures", name, " ".join("%s=%s" % (k, figures[k]) for k in sorted(figures)))
    return figures


def sync_during_session(bound_writes=True, seconds=30):
    """A session with a record sync at full rate from its start to its end."""
    c, a = _app()
    rec_id = _record(c, a, 10)
    if not bound_writes:  # the board as it was: up to 256 bytes a write, whatever the FIFO holds
        a.board.tx_room = lambda: 256
    host = Host(c)
    run = Run(c, a)
    lost0 = _lost_truth()
    reported0 = a.board.lost_samples
    line0 = c.uart.bytes
    ticks0 = c.uart.ticks_slept
    a.answers.session("start")
    t0 = chip.now_us()
    run.frames(seconds * 50, lambda: (host.poll(), host.fetch(rec_id)))
    elapsed = chip.now_us() - t0
    lost = _lost_truth() - lost0
    info = a.answers.info()
    line_bytes = c.uart.bytes - line0
    got = (host.records_got, host.record_bytes, host.refetches)
    periods = (run.sum_period_us // run.periods, run.worst_period_us)
    run.frames(100, host.poll)  # still in the session: the firmware's loss window (1 s) closes
    reported = a.board.lost_samples - reported0
    lost_by_now = _lost_truth() - lost0
    a.answers.session("stop")
    c.uninstall()
    return _figures(
        "sync-%s" % ("bounded" if bound_writes else "unbounded"),
        seconds=seconds, records_synced=got[0], refetches=got[2],
        lines_not_frames=host.decoder.skipped,
        record_bytes_per_s=got[1] * 1000000 // elapsed,
        line_bytes_per_s=line_bytes * 1000000 // elapsed,
        uart_tick_sleeps=c.uart.ticks_slept - ticks0,
        worst_write_us=c.uart.worst_write_us,
        mean_period_us=periods[0], worst_period_us=periods[1],
        worst_frame_us=a.worst_frame_us, overruns=a.overruns,
        lost_samples=lost, lost_samples_by_report=lost_by_now, reported_lost_samples=reported,
        info_link_tx_bps=info.get("link_tx_bps", -1))


def test_a_record_sync_at_full_rate_loses_no_audio():
    f = sync_during_session()
    assert f["records_synced"] >= 10 and f["refetches"] == 0
    assert f["lost_samples"] == 0 and f["reported_lost_samples"] == 0
    assert f["uart_tick_sleeps"] == 0 and f["worst_write_us"] == 0  # no write ever waited on the FIFO
    assert f["worst_frame_us"] < _FRAME_US and f["overruns"] == 0
    assert abs(f["mean_period_us"] - _FRAME_US) < 200 and f["worst_period_us"] <= 2 * 16000 + chip.COMPUTE_US
    # the line carries what the FIFO takes each frame: 128 bytes / 20 ms, and
    # at most one FIFO more across the window's edges (what was queued before it)
    assert 6000 <= f["line_bytes_per_s"] <= (128 * 50 * f["seconds"] + 128) // f["seconds"]
    assert abs(f["info_link_tx_bps"] - f["line_bytes_per_s"]) < 400


def test_unbounded_writes_lose_audio_and_the_firmware_says_so():
    f = sync_during_session(bound_writes=False, seconds=10)
    assert f["uart_tick_sleeps"] > 0 and f["worst_write_us"] >= 2 * chip.TICK_US
    assert f["overruns"] > 0 and f["worst_frame_us"] > _FRAME_US
    assert f["lost_samples"] > 0
    # never silent: what the board reports is the loss, within a DMA buffer a bus a second
    assert abs(f["reported_lost_samples"] - f["lost_samples_by_report"]) <= 2 * 256 * (f["seconds"] + 2), f


def flash_during_session(through_link=True):
    """acks and config-sets during a session: through the link (the app
    defers them), or straight to the store and config file as before."""
    c, a = _app()
    rec_id = _record(c, a, 5)
    host = Host(c)
    run = Run(c, a)
    lost0 = _lost_truth()
    reported0 = a.board.lost_samples
    changes0 = c.flash.changes
    a.answers.session("start")
    state = [0]

    def each():
        host.poll()
        state[0] += 1
        if state[0] % 250 == 0:  # every 5 s
            if through_link:
                host.send("ack", {"recs": [rec_id]})
                host.send("config-set", {"set": {"brightness_pct": 40 + state[0] // 250}})
            else:
                a.store.ack(rec_id)
                _write_config(a)

    run.frames(30 * 50, each)
    in_session = c.flash.changes - changes0
    lost = _lost_truth() - lost0
    a.answers.session("stop")
    run.frames(150, host.poll)
    reported = a.board.lost_samples - reported0
    synced = a.answers.records()[0]["synced"]
    saved_cfg = config.load_user(a.board.config_path)
    c.uninstall()
    return _figures("flash-%s" % ("deferred" if through_link else "in-session"),
                    flash_changes_in_session=in_session, lost_samples_in_session=lost,
                    reported_lost_samples=reported, synced_after=synced,
                    brightness_saved=saved_cfg["brightness_pct"], brightness_now=a.cfg["brightness_pct"])


def _write_config(a):
    config.save_json(a.board.config_path, a.cfg)


def test_flash_writes_wait_for_the_session_to_end():
    f = flash_during_session()
    assert f["flash_changes_in_session"] == 0
    assert f["lost_samples_in_session"] == 0
    assert f["synced_after"] is True  # the ack reached the flash once the session was over
    assert f["brightness_saved"] == f["brightness_now"] == 46


def test_flash_writes_in_a_session_lose_audio_and_the_firmware_says_so():
    f = flash_during_session(through_link=False)
    assert f["flash_changes_in_session"] >= 6
    assert f["lost_samples_in_session"] > 0
    assert f["reported_lost_samples"] >= f["lost_samples_in_session"] - 2 * 256 * 6, f


def test_the_i2s_queue_holds_all_buffers_but_one():
    c, a = _app()
    i2s = machine.SIM["i2s"][0]
    assert i2s.dma_buffers == 10
    import time

    time.sleep_ms(1000)
    assert i2s.sim_available_frames() == 9 * 256  # 144 ms, not 160
    c.uninstall()


def test_the_classic_esp32_board_runs_on_its_chip():
    c, a = _app("esp32")
    run = Run(c, a)
    run.frames(100)
    assert a.board.lost_samples == 0 and a.overruns == 0
    assert machine.SIM["pins"][a.desc["ring"]["pin"]].mode == machine.Pin.OUT
    c.uninstall()
    assert session.STATE_NAMES[a.conv.state] == "idle"
