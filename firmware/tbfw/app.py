# The application: builds the pipeline, ring, store and link from the board
# and the config, then runs the frame loop. Logic only: every hardware
# object comes from `board` (board_esp32 on the device, board_sim on the
# MicroPython unix port). The ring shows the session's own view of itself
# (session.Conversation.show); the link's requests are answered by
# tbfw.answers; a self-test is tbfw.selftest's, loaded when asked for.
#
# Per audio frame (20 ms): read the frame, run the pipeline (front end,
# talker model, tally), handle the button, draw the ring when a ring frame
# is due (25 fps), serve the serial link with bounded work, feed the
# watchdog. A finished session is saved to the store at once and the ring
# shows its summary. Frame cost is measured every frame; a frame over its
# budget is counted and logged as `warn-frame-overrun` (at most once a
# second). Measured cost per frame under the unix port: see
# `talkbalance bench --only pipeline` and docs/benchmarks.md.

import gc
import time

from micropython import const

# answers, link, pipeline, store: what tbfw.startup builds the app from,
# imported with the app, not while it boots (docs/memory.md)
from tbfw import answers, config, link, ondemand, pipeline, ring, session, store  # noqa: F401
from tbfw import button as buttons

_ENDED_SHOW_S = const(60)  # the ring shows the ended session's summary this long
_NEARLY_FULL_SAVES_DIV = const(10)


class App:
    def __init__(self, board):
        # Everything the app holds, built once at boot by tbfw.startup's
        # build(), loaded for it (tbfw.ondemand): that code is not kept.
        ondemand.call("startup", "build", self, board)

    # -- the loop ------------------------------------------------------------

    def run(self):
        board = self.board
        self.log_boot()
        gc.collect()
        try:
            while self.step():
                pass
            self.finish("end_of_audio")
        except KeyboardInterrupt:
            self.finish("stopped")
            raise
        finally:
            self.store.close()
            board.stop()  # on the ESP32: I2S off and the watchdog defused for the REPL
            board.log("stopped after %d frames, %d overruns, %d sessions saved" % (
                self.frames, self.overruns, self.saved))

    def log_boot(self):
        """The store's recovery scan, then what the boot found in the log:
        the scan and every problem worked round (tbfw.bootlog, loaded for
        it). Called when the loop starts, or by the first frame."""
        ondemand.call("bootlog", "log_boot", self)

    def step(self):
        """One audio frame; False when the audio source has ended (simulator)."""
        board = self.board
        if not board.read_frame():
            return False
        t0 = time.ticks_us()
        now_ms = board.ticks_ms()
        now_s = board.time()
        up_ms = self._uptime_ms + time.ticks_diff(now_ms, self._uptime_last_ms)
        self._uptime_last_ms = now_ms
        if up_ms >= 1000:
            self.uptime_s += up_ms // 1000
            up_ms %= 1000
        self._uptime_ms = up_ms
        if self._pcm16:
            who = self.pipe.step_pcm16(self.audio, now_s)
        else:
            who = self.pipe.step_i2s(self.audio, now_s)
        job = self.job
        held = 0
        if job is not None:  # a self-test: a bounded step, timed apart from the loop
            held = job.run(now_ms)
        if job is None or not job.uses_button:
            self._button(now_ms, now_s)
        if self.storage_changed:  # a frame after the change: never in the frame that saved
            self._check_storage()
        if self.conv.state == session.ENDED:
            self._save()
        if (self.later_acks or self.later_config is not None) and self.conv.state != session.SESSION:
            self._write_later()
        if (job is None or not job.uses_ring) and self.ring_driver.due(now_ms):
            self._update_ring_state(who)  # only for a frame that is drawn (every other at 25 fps)
            self.ring_driver.update(self.ring_state, now_ms)
        self.link.poll()
        self.frames += 1
        if self.frames % self.frames_per_s == 0:
            self._link_rate(now_ms)
            if self.answers.live_on:
                self.link.event("live", self.answers.live_event())
        board.wdt_feed()
        cost = time.ticks_diff(time.ticks_us(), t0) - held
        self.cost_sum_us += cost
        self.cost_frames += 1
        if self.cost_frames >= 1 << 15:  # sum < 32768 * 20 ms < 2^30: stays a small int
            self.cost_sum_us >>= 1
            self.cost_frames >>= 1
        if cost > self.worst_frame_us:
            self.worst_frame_us = cost
        if cost > self.frame_ms * 1000:
            self.overruns += 1
            if self.frames - self._last_overrun_log >= self.frames_per_s:
                self._last_overrun_log = self.frames
                board.log("warn-frame-overrun %d us (budget %d us), %d so far" % (
                    cost, self.frame_ms * 1000, self.overruns))
        return True

    def _link_rate(self, now_ms):
        sent = self.link.counts["tx_bytes"]
        ms = time.ticks_diff(now_ms, self._rate_ms)
        if ms > 0:  # bytes in a second < 2^20: the product stays a small int
            self.link_tx_bps = (sent - self._rate_bytes) * 1000 // ms
        self._rate_bytes = sent
        self._rate_ms = now_ms

    def finish(self, reason):
        """Save a session in progress (end of audio, Ctrl-C): never lost silently."""
        if self.conv.state == session.SESSION:
            self.conv.stop(reason)
            self._save()

    def _button(self, now_ms, now_s):
        event = self.button.update(self.board.button_pressed(), now_ms)
        conv = self.conv
        if event == buttons.SHORT:
            if conv.state in (session.IDLE, session.LISTENING):
                conv.start(now_s)
        elif event == buttons.HOLD:
            conv.claim(True)
        elif event == buttons.LONG:
            conv.claim(False)
            conv.stop("long_press")
        elif event == buttons.RELEASE and conv.claiming:
            conv.claim(False)

    def _save(self):
        conv = self.conv
        rec_id = conv.record_id()
        while rec_id in self.store:  # never over a stored record, synced or not
            conv.session_no += 1
            rec_id = conv.record_id()
        try:  # written piece by piece: the record is never in the heap whole
            with ondemand.loaded("sessionrecord") as records:  # its code and the record, once for both passes
                self.store.add_from(rec_id, records.Writer(conv).write)
            self.saved += 1
            self.board.log("session-saved %s (%d bytes)" % (rec_id, self.store.size(rec_id)))
        except Exception as exc:  # the store reports; keep the loop alive
            self.save_errors += 1
            self.board.log("error-session-save %s: %s" % (rec_id, exc))
        self.storage_changed = True
        self._ended_at = self.frames
        self._ended_share = self.conv.initiator_share_pm()
        self.conv.reset()
        if self.later_acks or self.later_config is not None:
            self._write_later()  # the flash is being written anyway
        gc.collect()  # a quiet moment: the session has just ended

    # -- ring ----------------------------------------------------------------

    def _apply_display_config(self):
        """The display keys, at once; target, band and pacing are the
        session's own (its settings snapshot, Conversation.show)."""
        st = self.ring_state
        st.night = self.cfg["night"]
        st.brightness_pct = self.cfg["brightness_pct"]

    def _update_ring_state(self, who):
        st = self.ring_state
        st.mic_fault = bool(self.fe.dead_mask) or getattr(self.board, "mic_fault", False)
        st.storage_nearly_full = self.nearly_full
        if self.conv.show(st, who):
            return
        if self._ended_at >= 0 and (self.frames - self._ended_at) * self.frame_ms < _ENDED_SHOW_S * 1000:
            st.mode = ring.MODE_ENDED
            st.share_pm = self._ended_share  # -1: never known, and so never in band
        else:
            st.mode = ring.MODE_IDLE
        st.speaking = ring.SPEAK_NONE
        st.heat = 0

    def _check_storage(self):
        self.storage_changed = False
        if self.store_report is None:  # the first frame, and run() has not scanned the store
            self.log_boot()
        # Called after store changes, not per frame (statvfs allocates): at
        # the start of the frame after one (storage_changed), so that its
        # garbage is never added to that of a save, the fullest frame.
        # Nearly full: the next few sessions saved (a tenth of the record
        # bound) would evict an unsynced one. Synced records are not
        # counted: they make room without a loss.
        st = self.store
        self.nearly_full = st.evictions(saves=1 + st.max_records // _NEARLY_FULL_SAVES_DIV) > 0

    def _write_later(self):
        """The flash writes held back during the session."""
        acks, self.later_acks = self.later_acks, []
        for rec_id in acks:
            try:
                self.store.ack(rec_id)
            except Exception as exc:  # the store reports; the host acks again at its next sync
                self.board.log("error-ack %s: %s" % (rec_id, exc))
        if acks:
            self.storage_changed = True
        cfg, self.later_config = self.later_config, None
        if cfg is not None:
            try:
                config.save_json(self.board.config_path, cfg)
            except OSError as exc:
                self.board.log("error-config-save: %s" % exc)

    # -- the device's clocks (the session reads them when it begins) ----------

    def clock_is_set(self):
        """The wall clock was set since power-up (else it counts from the
        board's power-up default and dates nothing)."""
        return self.board.clock_is_set()

    def uptime(self):
        """Seconds since the app started, to 0.01 s (dates this boot's sessions)."""
        return round(self.uptime_s + self._uptime_ms / 1000, 2)


def board_module():
    """The board module of this platform: board_esp32 on the chip, else board_sim."""
    import sys

    if sys.platform == "esp32":
        from tbfw import board_esp32 as module
    else:
        from tbfw import board_sim as module
    return module


def make_board():
    return board_module().make()


def main(board=None):
    """Run the app (main.py). A crash goes to tbfw.crash, loaded only then:
    logged to flash, shown on the ring, and the board resets (or, after
    crashes in a row, stays at the prompt). Ctrl-C is not a crash."""
    runner = None
    try:
        if board is None:
            board = make_board()
        runner = App(board)
        runner.run()
    except Exception as exc:  # anything the app did not handle: never dead at the prompt
        ran_s = runner.frames * runner.frame_ms // 1000 if runner is not None else 0
        boot = runner.boot if runner is not None else None
        runner = None
        gc.collect()  # the app's heap back for the handler (the crash may be a MemoryError)
        from tbfw import crash

        return crash.crashed(exc, board, boot, ran_s, board_module)
    return None
