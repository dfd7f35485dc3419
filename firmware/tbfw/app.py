# The application: builds the pipeline, ring, store and link from the board
# and the config, then runs the frame loop. Logic only: every hardware
# object comes from `board` (board_esp32 on the device, board_sim on the
# MicroPython unix port).
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
import os
import time

from micropython import const

from tbfw import button as buttons
from tbfw import config, ondemand, ring, session, talker
from tbfw.link import DEFERRED, CommandError, Link
from tbfw.pipeline import Pipeline
from tbfw.store import Store
from tbfw.version import VERSION
from tbfw.wire import E_BAD_ARG, E_BUSY

_RING_PERIOD_MS = const(40)  # 25 ring frames a second
_ENDED_SHOW_S = const(60)  # the ring shows the ended session's summary this long
_LIVE_EVERY_FRAMES = const(50)  # one live event a second at 20 ms frames
_NEARLY_FULL_SAVES_DIV = const(10)
_PROBLEMS_SHOWN = const(4)  # the last says how many more
_OVERRUN_LOG_FRAMES = const(50)  # log an overrun at most once a second


class App:
    def __init__(self, board):
        self.board = board
        self.desc = board.desc
        # What was wrong on the flash at boot and was worked round (a bad
        # config value, a lost counter file): in `info` and the log.
        self.cfg, problems, self.boot = ondemand.call("startup", "prepare", board.config_path, board.flash_dir)
        self.device_id = board.device_id()
        self.pipe = Pipeline(self.desc, self.cfg, self.device_id, self.boot)
        self.conv = self.pipe.conv
        # Record ids carry a random number drawn at each boot as well as the
        # boot counter: erasing the flash, or losing both counter files,
        # cannot make the device issue an id it has issued before.
        self.conv.boot_id = _boot_nonce()
        self.frame_ms = self.cfg["frame_ms"]
        self.frame_samples = self.pipe.frame_samples
        self.audio = board.start_audio(self.frame_samples)
        self._pcm16 = getattr(board, "frame_format", "i2s") == "pcm16"
        if self._pcm16:
            self.pipe.fe.prepare_pcm16()
        self.ring = ring.from_board(self.desc)
        self.ring_state = ring.RingState()
        self.ring_driver = ring.RingDriver(self.ring, board.ring_write, _RING_PERIOD_MS)
        self.store = Store(board.flash_dir + "/sessions", self.cfg["store_max_records"],
                           self.cfg["store_max_flash_pct"])
        self.store_report = self.store.last_scan or self.store.scan()  # Store() has scanned already
        problems.extend(self.store_report["notes"])
        self._boot_problems = problems  # all of them, for the log
        self.problems = problems  # a few, for info: it must fit one line
        if len(problems) > _PROBLEMS_SHOWN:
            more = len(problems) - (_PROBLEMS_SHOWN - 1)
            self.problems = problems[:_PROBLEMS_SHOWN - 1] + ["%d more in the log" % more]
        self.link = Link(board.serial_read, board.serial_write, self)
        self.button = buttons.Button()
        self.live_on = False
        self._job = None  # a self-test under way (tbfw.selftest.Job)
        self.frames = 0
        self.uptime_s = 0  # whole seconds since the app started (ticks_ms wraps; this does not)
        self._uptime_ms = 0  # the part of a second on top, < 1000
        self._uptime_last_ms = board.ticks_ms()
        self.conv.time_source = self  # uptime() and clock_is_set(), read when a session begins
        self.frames = 0
        self.overruns = 0
        self.worst_frame_us = 0
        self.cost_sum_us = 0
        self.cost_frames = 0
        self.saved = 0
        self.save_errors = 0
        self._ended_at = -1
        self._last_overrun_log = -_OVERRUN_LOG_FRAMES
        self._ended_share = -1
        self._nearly_full = False
        # Flash writes asked for during a session wait until it is over: an
        # erase holds off the I2S interrupt, and the driver then keeps only
        # the latest DMA buffer (docs/board.md).
        self.link_tx_bps = 0  # bytes the link sent in the last second
        self._rate_bytes = 0
        self._rate_ms = board.ticks_ms()
        self._later_acks = []
        self._later_config = None
        self._storage_changed = False
        self._check_storage()
        self._apply_display_config()

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
        """What the boot found: the store's scan and every problem worked
        round (tbfw.bootlog, loaded for it)."""
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
        job = self._job
        held = 0
        if job is not None:  # a self-test: a bounded step, timed apart from the loop
            held = job.run(now_ms)
        if job is None or not job.uses_button:
            self._button(now_ms, now_s)
        if self.conv.state == session.ENDED:
            self._save()
        if (self._later_acks or self._later_config is not None) and self.conv.state != session.SESSION:
            self._write_later()
        self._update_ring_state(who)
        if job is None or not job.uses_ring:
            self.ring_driver.update(self.ring_state, now_ms)
        self.link.poll()
        if self._storage_changed:
            self._check_storage()
        self.frames += 1
        if self.frames % _LIVE_EVERY_FRAMES == 0:
            self._link_rate(now_ms)
            if self.live_on:
                self.link.event("live", self._live())
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
            if self.frames - self._last_overrun_log >= _OVERRUN_LOG_FRAMES:
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
        self._check_storage()
        self._ended_at = self.frames
        self._ended_share = self.conv.initiator_share_pm()
        self.conv.reset()
        if self._later_acks or self._later_config is not None:
            self._write_later()  # the flash is being written anyway
        gc.collect()  # a quiet moment: the session has just ended

    # -- ring ----------------------------------------------------------------

    def _apply_display_config(self):
        # display keys at once; target, band and pacing come from the
        # session (its settings snapshot) while one runs or is shown ended
        st = self.ring_state
        st.night = self.cfg["night"]
        st.brightness_pct = self.cfg["brightness_pct"]
        if self.conv.state == session.IDLE and self._ended_at < 0:
            st.target_pm = self.cfg["target_share_pct"] * 10
            st.band_pm = self.cfg["band_pct"] * 10
            st.meeting_s = self.cfg["meeting_min"] * 60

    def _update_ring_state(self, who):
        st = self.ring_state
        conv = self.conv
        st.mic_fault = bool(self.pipe.fe.dead_mask) or getattr(self.board, "mic_fault", False)
        st.storage_nearly_full = self._nearly_full
        state = conv.state
        if state == session.SESSION or state == session.LISTENING:
            st.mode = ring.MODE_CLAIM if conv.claiming else (
                ring.MODE_SESSION if state == session.SESSION and conv.initiator_slot >= 0 else ring.MODE_LISTENING)
            ini = conv.initiator_slot
            model = conv.model
            if ini >= 0:
                st.initiator_az = model.slot_az[ini] if model.slot_az[ini] >= 0 else None
                st.partner_az = model.slot_az[1 - ini] if model.slot_az[1 - ini] >= 0 else None
                role = conv.role_of(who)
                st.speaking = (ring.SPEAK_INITIATOR if role == "initiator" else ring.SPEAK_PARTNER
                               if role == "partner" else ring.SPEAK_BOTH if who == talker.BOTH else ring.SPEAK_NONE)
                share = conv.initiator_share_pm()
                st.share_pm = share if share >= 0 else 0
                st.recent_share_pm = conv.tally.recent_share_pm(ini) if conv.tally is not None else -1
                st.heat = 1 if conv.tally is not None and conv.tally.heated else 0
            st.elapsed_s = conv.elapsed_s()
            tally = conv.tally
            if tally is not None:  # the session's own settings
                st.target_pm = tally.target_pm
                st.band_pm = tally.band_pm
                st.meeting_s = conv.meeting_s
        elif self._ended_at >= 0 and (self.frames - self._ended_at) * self.frame_ms < _ENDED_SHOW_S * 1000:
            st.mode = ring.MODE_ENDED
            st.share_pm = self._ended_share if self._ended_share >= 0 else 0
            st.speaking = ring.SPEAK_NONE
            st.heat = 0
        else:
            st.mode = ring.MODE_IDLE
            st.speaking = ring.SPEAK_NONE
            st.heat = 0

    def _check_storage(self):
        self._storage_changed = False
        # Called after store changes, not per frame (statvfs allocates).
        # Nearly full: the next few sessions saved (a tenth of the record
        # bound) would evict an unsynced one. Synced records are not
        # counted: they make room without a loss.
        st = self.store
        self._nearly_full = st.evictions(saves=1 + st.max_records // _NEARLY_FULL_SAVES_DIV) > 0

    def _live(self):
        conv = self.conv
        fe = self.pipe.fe
        return {
            "state": session.STATE_NAMES[conv.state],
            "who": conv.role_of(conv.who),
            "share_pm": conv.initiator_share_pm(),
            "elapsed_s": conv.elapsed_s(),
            "azimuth_deg": fe.azimuth_deg if fe.direction_valid else None,
            "level_db": fe.frame_db_q8 // 256,
            "heat": 1 if conv.tally is not None and conv.tally.heated else 0,
            "talkers": [a for a in conv.model.slot_az],
            "overruns": self.overruns,
            "lost_samples": getattr(self.board, "lost_samples", 0),
            "ring": self.ring_driver.buf.hex(),
        }

    # -- the link's device interface (tbfw.link) -----------------------------

    def info(self):
        fe = self.pipe.fe
        return {
            "device": self.device_id,
            "firmware": VERSION,
            "board": self.desc.get("name"),
            "boot": self.boot,
            "clock": self.board.time(),
            "clock_set": self.clock_is_set(),
            "uptime_s": self.uptime(),
            "state": session.STATE_NAMES[self.conv.state],
            "counters": self.store.counters(),
            "frames": self.frames,
            "overruns": self.overruns,
            "worst_frame_us": self.worst_frame_us,
            "lost_samples": getattr(self.board, "lost_samples", 0),
            "dead_mask": fe.dead_mask,
            "clip_count": fe.clip_count,
            "sessions_saved": self.saved,
            "save_errors": self.save_errors,
            "storage_nearly_full": self._nearly_full,
            "problems": self.problems,
            "link_tx_bps": self.link_tx_bps,
            "mem": self._memory(),
            "link": self.link.stats(),
        }

    def _memory(self):
        """The Python heap [free, used], and the board's other heaps if it
        has any (board_esp32.idf_heaps)."""
        mem = {"gc": [gc.mem_free(), gc.mem_alloc()]}
        heaps = getattr(self.board, "idf_heaps", None)
        if heaps is not None:
            mem.update(heaps())
        return mem

    def records(self):
        return self.store.records()

    def open_record(self, rec_id):
        return self.store.open_read(rec_id) if rec_id in self.store else None

    def ack(self, rec_id):
        if rec_id not in self.store:
            return None
        if self.conv.state == session.SESSION:
            if rec_id not in self._later_acks:
                self._later_acks.append(rec_id)  # at most the store's records
            return True  # marked synced on flash when the session is over
        done = self.store.ack(rec_id)
        self._storage_changed = True  # checked once after the request, not per id
        return done

    def _write_later(self):
        """The flash writes held back during the session."""
        acks, self._later_acks = self._later_acks, []
        for rec_id in acks:
            try:
                self.store.ack(rec_id)
            except Exception as exc:  # the store reports; the host acks again at its next sync
                self.board.log("error-ack %s: %s" % (rec_id, exc))
        if acks:
            self._check_storage()
        cfg, self._later_config = self._later_config, None
        if cfg is not None:
            try:
                config.save_json(self.board.config_path, cfg)
            except OSError as exc:
                self.board.log("error-config-save: %s" % exc)

    def clock_get(self):
        return self.board.time()

    def clock_is_set(self):
        """The wall clock was set since power-up (else it counts from the
        board's power-up default and dates nothing)."""
        return self.board.clock_is_set()

    def time_status(self):
        return {"boot": self.boot, "uptime_s": self.uptime(), "clock_set": self.clock_is_set()}

    def uptime(self):
        """Seconds since the app started, to 0.01 s (dates this boot's sessions)."""
        return round(self.uptime_s + self._uptime_ms / 1000, 2)

    def clock_set(self, unix_s):
        self.board.set_time(unix_s)

    def config_get(self):
        return self.cfg

    def config_set(self, changes, evict=0):
        """Save the changes; the answer says when each applies ("now",
        "next_session" or "next_boot"). A rare request: its code is
        tbfw.configset, loaded for it (tbfw.ondemand)."""
        return ondemand.call("configset", "apply", self, changes, evict)

    def live(self, on):
        self.live_on = bool(on)

    def session(self, action):
        now_s = self.board.time()
        if action == "start":
            self.conv.start(now_s)
        elif action == "stop":
            if self.conv.state == session.SESSION:
                self.conv.stop("stopped")
                self._save()
            else:
                self.conv.stop("stopped")
        elif action == "claim":
            self.conv.claim(not self.conv.claiming)
        else:
            raise CommandError(E_BAD_ARG, "unknown session action %s" % action)
        return {"state": session.STATE_NAMES[self.conv.state], "saved": self.saved,
                "claiming": self.conv.claiming, "bound_by": self.conv.bound_by or None}

    def selftest(self, tests=None):
        """Self-test on request from the host (`talkbalance selftest`): a
        tbfw.selftest.Job that the loop runs a step per frame (step()); the
        answer follows when it is done. Refused during a session (the ring
        walk would hide the session) and while another runs."""
        if self.conv.state == session.SESSION:
            raise CommandError(E_BUSY, "a session is running; end it first")
        if self._job is not None:
            raise CommandError(E_BUSY, "a self-test is running")
        # Loaded when first asked for, then kept: its viper code would take
        # new native memory at every import on the ESP32.
        from tbfw import selftest

        try:
            self._job = selftest.Job(self, tests)
        except ValueError as exc:
            raise CommandError(E_BAD_ARG, str(exc))
        return DEFERRED

    def reboot(self):
        self.store.close()
        self.board.reboot()


def _boot_nonce():
    """8 hex digits, random for each boot (the ESP32's hardware RNG)."""
    return "".join("%02x" % b for b in os.urandom(4))


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

        return crash.crashed(exc, board, boot, ran_s)
    return None
