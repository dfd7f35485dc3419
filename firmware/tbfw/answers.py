# What the device answers to the serial link's requests: the `device`
# object of tbfw.link (its header lists each method and its answer). Reads
# the app's state and asks the app for what only the loop may do (save a
# session, defer a flash write until the session is over, run a self-test a
# step per frame). Rare requests load their code for the call: config-set
# (tbfw.configset, through tbfw.ondemand) and the self-test (tbfw.selftest,
# loaded on first use and kept: it holds viper code).

import gc

from tbfw import ondemand, session
from tbfw.link import CommandError
from tbfw.version import VERSION
from tbfw.wire import E_BAD_ARG


class Answers:
    def __init__(self, app):
        self.app = app
        self.live_on = False

    def info(self):
        app = self.app
        fe = app.fe
        return {
            "device": app.device_id,
            "firmware": VERSION,
            "board": app.desc.get("name"),
            "boot": app.boot,
            "clock": app.board.time(),
            "clock_set": app.clock_is_set(),
            "uptime_s": app.uptime(),
            "state": app.conv.state_name(),
            "counters": app.store.counters(),
            "frames": app.frames,
            "overruns": app.overruns,
            "worst_frame_us": app.worst_frame_us,
            "lost_samples": getattr(app.board, "lost_samples", 0),
            "dead_mask": fe.dead_mask,
            "clip_count": fe.clip_count,
            "sessions_saved": app.saved,
            "save_errors": app.save_errors,
            "storage_nearly_full": app.nearly_full,
            "problems": app.problems,
            "link_tx_bps": app.link_tx_bps,
            "mem": self._memory(),
            "link": app.link.stats(),
        }

    def _memory(self):
        """The Python heap [free, used], and the board's other heaps if it
        has any (board_esp32.idf_heaps)."""
        mem = {"gc": [gc.mem_free(), gc.mem_alloc()]}
        heaps = getattr(self.app.board, "idf_heaps", None)
        if heaps is not None:
            mem.update(heaps())
        return mem

    def live_event(self):
        """The body of a `live` event (sent once a second while live is on)."""
        app = self.app
        conv = app.conv
        fe = app.fe
        return {
            "state": conv.state_name(),
            "who": conv.role_of(conv.who),
            "share_pm": conv.initiator_share_pm(),
            "elapsed_s": conv.elapsed_s(),
            "azimuth_deg": fe.azimuth_deg if fe.direction_valid else None,
            "level_db": fe.frame_db_q8 // 256,
            "heat": 1 if conv.tally is not None and conv.tally.heated else 0,
            "hearing_low": conv.hearing_low(),
            "talkers": list(conv.model.slot_az),
            "overruns": app.overruns,
            "lost_samples": getattr(app.board, "lost_samples", 0),
            "ring": app.ring_driver.buf.hex(),
        }

    def records(self):
        return self.app.store.records()

    def open_record(self, rec_id):
        store = self.app.store
        return store.open_read(rec_id) if rec_id in store else None

    def ack(self, rec_id):
        app = self.app
        if rec_id not in app.store:
            return None
        if app.conv.state == session.SESSION:
            if rec_id not in app.later_acks:
                app.later_acks.append(rec_id)  # at most the store's records
            return True  # marked synced on flash when the session is over
        done = app.store.ack(rec_id)
        app.storage_changed = True  # checked once after the request, not per id
        return done

    def clock_get(self):
        return self.app.board.time()

    def time_status(self):
        app = self.app
        return {"boot": app.boot, "uptime_s": app.uptime(), "clock_set": app.clock_is_set()}

    def clock_set(self, unix_s):
        self.app.board.set_time(unix_s)

    def config_get(self):
        return self.app.cfg

    def config_set(self, changes, evict=0):
        """Save the changes; the answer says when each applies ("now",
        "next_session" or "next_boot"). A rare request: its code is
        tbfw.configset, loaded for it (tbfw.ondemand)."""
        return ondemand.call("configset", "apply", self.app, changes, evict)

    def live(self, on):
        self.live_on = bool(on)

    def session(self, action):
        app = self.app
        conv = app.conv
        if action == "start":
            conv.start(app.board.time())
        elif action == "stop":
            app.finish("stopped")  # a session under way is saved
            conv.stop("stopped")  # listening goes back to idle
        elif action == "claim":
            conv.claim(not conv.claiming)
        else:
            raise CommandError(E_BAD_ARG, "unknown session action %s" % action)
        return {"state": conv.state_name(), "saved": app.saved,
                "claiming": conv.claiming, "bound_by": conv.bound_by or None}

    def selftest(self, tests=None):
        """Self-test on request from the host (`talkbalance selftest`):
        tbfw.selftest.request, loaded when first asked for, then kept (its
        viper code would take new native memory at every import on the
        ESP32)."""
        from tbfw import selftest

        return selftest.request(self.app, tests)

    def reboot(self):
        app = self.app
        app.store.close()
        app.board.reboot()
