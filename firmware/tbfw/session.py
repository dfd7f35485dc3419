# Session lifecycle and the session record.
#
#   idle --speech--> listening --two talkers learned--> session --> ended
#     ^                 |  (or button press: session at once)      |
#     +--- silence / timeout without a second talker --------------+ reset()
#
# A session ends on a long press, after `end_silence_s` without speech, or
# at `max_session_min`. The ended session's record is what the device
# stores and syncs and what `analyze` prints (schema in docs/record.md; its
# code is tbfw.sessionrecord, loaded when a record is made).
#
# Settings are a snapshot: `cfg` is the config for the next session; the
# session takes `session_cfg` when it begins (_begin) and measures, ends and
# records by it alone, so a change during a session applies from the next
# one and the record carries the settings its figures were computed with.
#
# Speech before both talkers are learned is not lost: its confident frames
# are counted per direction bin (and the rest as direction-less), and once
# the two directions are known those counts are credited to the nearest
# talker (direction-less frames in proportion), so the first turn counts.

from micropython import const

from tbfw import ondemand, ring, talker
from tbfw.tally import Tally

IDLE = const(0)
LISTENING = const(1)
SESSION = const(2)
ENDED = const(3)
STATE_NAMES = ("idle", "listening", "session", "ended")

_BINS = const(72)
_BIN_DEG = const(5)
_FIRST_VOTES = const(40)  # confident frames kept to decide who spoke first ...
_FIRST_WINS = const(3)  # ... the first talker with this many of them
_FIRST_GATE_DEG = const(20)  # ... each within this of the talker's direction
_LISTEN_SILENCE_S = const(60)  # listening gives up after this much silence
_LISTEN_MAX_S = const(240)  # ... or after this long without a second talker
_CLAIM_MIN_FRAMES = const(10)
# the shares are unreliable when more than this per mille of the speech was
# heard before both talkers were known, without a direction, and so shared
# out in proportion (docs/record.md, `hearing.apportioned`): at most 96 per
# mille on the 3-minute development scenes and the tiers, 221 where the
# second talker took three minutes to be found
_APPORTIONED_MAX_PM = const(150)
_HEAR_MIN_FRAMES = const(1500)  # speech heard before the ring judges it (30 s at 20 ms)
# tbfw.talker's attribution codes, the same values (tests/fw/fwtest_ring.py
# checks them): constants here are folded into the code, where talker.NONE
# is two lookups at every use
_NONE = const(0)
_SLOT_A = const(1)
_SLOT_B = const(2)
_BOTH = const(3)
_UNKNOWN = const(4)


class Conversation:
    """Turns front-end frames into talker attribution, tally and a record."""

    def __init__(self, cfg, frame_ms, device_id="sim", boot=0):
        self.cfg = cfg  # for the next session; replaced whole, never changed in place
        # The device's clocks, read once when a session begins: an object with
        # `uptime()` (seconds since the firmware started, to 0.01 s) and
        # `clock_is_set()` (the wall clock was set since power-up); None for
        # a recording (analyze): uptime 0, clock not set.
        self.time_source = None
        self.frame_ms = frame_ms
        self.frames_per_s = 1000 // frame_ms
        self.device_id = device_id
        self.boot = boot
        self.boot_id = ""  # the app sets a random one per boot: ids never repeat
        self.session_no = 0
        self._prefix = talker.zeros("i", _BINS)
        self._claim_bins = talker.zeros("H", _BINS)
        self._first = talker.zeros("h", _FIRST_VOTES)
        self.model = talker.TalkerModel()  # reset with the conversation, never made again
        self.reset()

    def reset(self):
        """Back to idle, ready for the next session."""
        self.state = IDLE
        self.noise_db_q8 = -30720  # the front end's noise floor, set by the pipeline each frame
        # the floor sampled once a second: sum of whole dB, |.| <= 120 * 14,400 < 2^21
        self.noise_sum_db = 0  # sampled at every whole second of the session (_frames // fps samples)
        self.session_cfg = self.cfg
        self._end_silence_frames = 0  # set from session_cfg by _begin
        self._max_frames = 0
        self.meeting_s = 0
        self.model.reset()
        self.tally = None
        self.who = _NONE
        self.start_time = 0
        self.start_uptime_s = 0
        self.start_clock_set = False
        self.end_reason = ""
        self._tail = 0  # trailing silence left out of the record (ended by silence)
        self.claiming = False
        self.initiator_slot = -1
        self.bound_by = ""
        self._claim_az = -1
        self._frames = 0
        self._last_speech = 0
        self._prefix_nodir = 0
        self._prefix_noise = 0  # prefix frames of the noise source, moved to silence
        self._prefix_pending = True
        self._lead = 0  # a burst's first frames, before its first vote (UNKNOWN so far)
        self.confident = False
        self.fold_frame = -1  # frame at which earlier speech was credited
        self.fold_slot_az = [-1, -1]  # the talker directions it was credited by
        self._bind_az = [-1, -1]  # the talkers' directions when the rule bound them
        self._n_first = 0
        self._guessed = False  # the rule bound the roles without knowing who spoke first
        for i in range(_BINS):
            self._prefix[i] = 0
            self._claim_bins[i] = 0

    # -- inputs ------------------------------------------------------------

    def start(self, now_s):
        """Button press: start a session now, even before talkers are learned."""
        if self.state in (IDLE, LISTENING):
            if self.state == IDLE:
                self._begin(now_s)
            self.state = SESSION
            self.session_no += 1

    def stop(self, reason="long_press"):
        if self.state in (LISTENING, SESSION):
            if self.state == LISTENING:
                self.reset()
                return
            self._end(reason)

    def claim(self, holding):
        """Button held (True) or released (False): bind the initiator."""
        if holding:
            self.claiming = True
            for i in range(_BINS):
                self._claim_bins[i] = 0
            return
        if not self.claiming:
            return
        self.claiming = False
        best = 0
        for i in range(_BINS):
            if self._claim_bins[i] > self._claim_bins[best]:
                best = i
        if self._claim_bins[best] >= _CLAIM_MIN_FRAMES:
            self._claim_az = best * _BIN_DEG + _BIN_DEG // 2
            self.bound_by = "claim"
            self._bind()

    def frame(self, speech, direction_valid, azimuth_deg, conf_q8, level_db_q8, now_s, voiced=True):
        """One front-end frame. Returns the attribution (talker.* code).
        `voiced`: the frame itself was over the voice threshold (False when
        only the voice activity's hangover holds it as speech)."""
        state = self.state
        if state == ENDED:
            return _NONE
        if state == IDLE:
            if not speech:
                return _NONE
            self._begin(now_s)
            self.state = LISTENING
        frames = self._frames + 1
        self._frames = frames
        if speech:
            self._last_speech = frames
        model = self.model
        confident = speech and direction_valid and conf_q8 >= model.min_conf_q8
        self.confident = confident
        if confident:
            if self.claiming and azimuth_deg >= 0:
                b = (azimuth_deg // _BIN_DEG) % _BINS
                if self._claim_bins[b] < 65535:
                    self._claim_bins[b] += 1
            if self._n_first < _FIRST_VOTES:
                self._first[self._n_first] = azimuth_deg
                self._n_first += 1
        who = model.update(speech, direction_valid, azimuth_deg, conf_q8, level_db_q8)
        fps = self.frames_per_s
        second = frames % fps == 0  # a whole second of the session ends at this frame
        if self._prefix_pending:
            if model.learned:
                # Credit the earlier frames; this one is attributed normally.
                self._fold_prefix(who)
                if self.state == LISTENING:
                    self.state = SESSION
                    self.session_no += 1
            else:
                if speech:
                    if confident:
                        self._prefix[(azimuth_deg // _BIN_DEG) % _BINS] += 1
                    else:
                        self._prefix_nodir += 1
                who = _UNKNOWN if speech else _NONE
        elif second and self.initiator_slot >= 0:
            self._rebind()
        tally = self.tally
        if tally is not None:
            noise = self.noise_db_q8
            tally.add(who, level_db_q8, voiced, voiced or level_db_q8 >= noise)
            if second:  # the noise floor, sampled once a second
                self.noise_sum_db += noise >> 8
            # the first words of a burst, before its first vote, are the
            # voted talker's (counted UNKNOWN until the vote named them)
            if who == _UNKNOWN:
                if not self._prefix_pending:
                    self._lead += 1
            elif self._lead:
                if who == _SLOT_A or who == _SLOT_B:
                    tally.credit(who - _SLOT_A, self._lead)
                    tally.unknown -= self._lead
                self._lead = 0
        self.who = who
        # the end of the session or of listening
        silent_frames = frames - self._last_speech
        state = self.state
        if state == SESSION:
            if silent_frames > self._end_silence_frames:
                self._end("silence")
            elif frames >= self._max_frames:
                self._end("max_length")
        elif state == LISTENING:
            if silent_frames > _LISTEN_SILENCE_S * fps or frames > _LISTEN_MAX_S * fps:
                self.reset()
        return who

    # -- lifecycle ---------------------------------------------------------

    def _begin(self, now_s):
        self.start_time = now_s
        src = self.time_source
        if src is not None:
            self.start_uptime_s = src.uptime()
            self.start_clock_set = bool(src.clock_is_set())
        cfg = self.session_cfg = self.cfg  # the snapshot: self.cfg is replaced, never changed
        fps = self.frames_per_s
        self._end_silence_frames = cfg["end_silence_s"] * fps
        self._max_frames = cfg["max_session_min"] * 60 * fps
        self.meeting_s = cfg["meeting_min"] * 60
        self.tally = Tally(self.frame_ms, cfg["target_share_pct"] * 10, cfg["band_pct"] * 10,
                           max_minutes=cfg["max_session_min"] + 1)

    def _end(self, reason):
        self.state = ENDED
        self.end_reason = reason
        if reason == "silence":
            # the meeting ended at its last words, not when the silence was judged
            self._tail = self._frames - self._last_speech

    def _fold_prefix(self, who):
        """Credit speech heard before both talkers were learned; `who` is
        this frame's attribution (its talker's turn is the credited one)."""
        self._prefix_pending = False
        self.fold_frame = self._frames
        self.fold_slot_az[0], self.fold_slot_az[1] = self.model.slot_az
        tally = self.tally
        if tally is None:
            return
        tally.settle()  # the prefix's last frames, if held back, counted before they are moved
        counts = [0, 0]
        for b in range(_BINS):
            n = self._prefix[b]
            if n:
                az = b * _BIN_DEG + _BIN_DEG // 2
                slot = self.model.nearest_slot(az)
                if self.model.vote_slot(az) == _NONE:
                    self._prefix_noise += n  # the noise source's: nobody's speech
                elif slot == _SLOT_A or slot == _SLOT_B:
                    counts[slot - _SLOT_A] += n
                else:
                    tally.unknown += n
        known = counts[0] + counts[1]
        if known:
            share_a = (self._prefix_nodir * counts[0] + known // 2) // known
            counts[0] += share_a
            counts[1] += self._prefix_nodir - share_a
        else:
            self._prefix_nodir = 0  # left unknown: nothing shared out
        for slot in (0, 1):
            if counts[slot] > 0:  # a turn of its own
                tally.credit(slot, counts[slot])
                tally.turns[slot] += 1
        if (who == _SLOT_A or who == _SLOT_B) and counts[who - _SLOT_A]:
            tally.hold(who - _SLOT_A)  # the turn under way is the one credited
        # Frames already counted by add() as UNKNOWN during the prefix (but
        # for those without a direction when no talker's was heard).
        tally.unknown -= self._prefix_nodir + sum(self._prefix)
        tally.silence += self._prefix_noise
        if tally.unknown < 0:
            tally.unknown = 0
        self._bind()

    def _rebind(self):
        """Bind again by the rule when a talker's direction has moved far
        since the binding from where a noise source is now known: a slot
        first taken by it (a TV or music heard before both people had
        spoken). A talker who moved keeps their role."""
        model = self.model
        noise = model.noise_az
        moved = False
        for i in (0, 1):
            was = self._bind_az[i]
            if talker.angle_diff(model.slot_az[i], was) > _FIRST_GATE_DEG and noise >= 0 and \
                    talker.angle_diff(was, noise) <= _FIRST_GATE_DEG:
                moved = True
        if not moved or self.bound_by == "claim":
            return
        self.initiator_slot = -1
        self._bind()

    def _bind(self):
        """Bind roles: a claim wins; otherwise the configured rule."""
        if not self.model.learned:
            return
        if self._claim_az >= 0:
            slot = self.model.nearest_slot(self._claim_az)
            self.initiator_slot = slot - _SLOT_A
            self.bound_by = "claim"
            return
        if self.initiator_slot >= 0:
            return
        self._guessed = False
        first = self._first_slot()
        rule = self.session_cfg["initiator_rule"]
        if rule == "second":
            first = 1 - first
        self.initiator_slot = first
        self.bound_by = rule
        self._bind_az[0], self._bind_az[1] = self.model.slot_az

    def _first_slot(self):
        # the first talker to reach _FIRST_WINS of the earliest confident
        # frames; frames that vote for neither talker (a TV playing before
        # anyone spoke) are passed over. When none does, the one with more
        # of them (slot A on a tie), and _guessed says so (_bind clears it)
        votes = [0, 0]
        model = self.model
        for i in range(self._n_first):
            az = self._first[i]
            slot = model.vote_slot(az)
            if (slot == _SLOT_A or slot == _SLOT_B) and \
                    talker.angle_diff(az, model.slot_az[slot - _SLOT_A]) <= _FIRST_GATE_DEG:
                votes[slot - _SLOT_A] += 1
                if votes[slot - _SLOT_A] >= _FIRST_WINS:
                    return slot - _SLOT_A
        self._guessed = True  # no talker had _FIRST_WINS of them
        return 0 if votes[0] >= votes[1] else 1

    # -- outputs -----------------------------------------------------------

    def role_of(self, who):
        """'initiator', 'partner', 'both', or '' for an attribution code."""
        if who == _BOTH:
            return "both"
        if (who == _SLOT_A or who == _SLOT_B) and self.initiator_slot >= 0:
            return "initiator" if who - _SLOT_A == self.initiator_slot else "partner"
        return ""

    def hearing_low(self, tail=-1):
        """Whether the shares cannot be trusted, apart from the talkers being
        found and the SNR: less than talker.HEARD_MIN_PM of the speech could
        be given to a talker, a third source is as loud as the talkers
        (crowded), a noise source nearly so (noise_near) or a third voice
        fills their pauses (nobody silent in under talker.PAUSE_MIN_PM of the
        session), too few speech frames had a talker's direction (sparse), or
        more than _APPORTIONED_MAX_PM of the speech was shared out in
        proportion (heard without a direction before both talkers were known:
        _fold_prefix), or the rule last bound the roles without knowing who
        spoke first (_first_slot: the earliest votes were a TV's or music's,
        too few near either talker; a claim since binds the roles but does
        not take back the time the source's place was given while it held a
        talker's slot). The ring and the live view ask without `tail`: in a
        session with at least 30 s of speech. The record
        (sessionrecord._hearing) asks of the ended session, with `tail`, its
        trailing silence, left out: one test for both."""
        t = self.tally
        if tail < 0:
            if self.state != SESSION or t is None or t.talk[0] + t.talk[1] + t.both + t.unknown < _HEAR_MIN_FRAMES:
                return False
            tail = 0
        m = self.model
        heard = t.talk[0] + t.talk[1] + t.both
        speech = heard + t.unknown
        return not speech or heard * 1000 < talker.HEARD_MIN_PM * speech or m.crowded or m.noise_near or m.sparse or \
            (t.silence - tail) * 1000 < talker.PAUSE_MIN_PM * (self._frames - tail) or \
            (not self._prefix_pending and self._prefix_nodir * 1000 > _APPORTIONED_MAX_PM * speech) or \
            self._guessed

    def initiator_share_pm(self):
        if self.tally is None or self.initiator_slot < 0:
            return -1
        return self.tally.share_pm(self.initiator_slot)

    def elapsed_s(self):
        return self._frames // self.frames_per_s

    def state_name(self):
        """"idle", "listening", "session" or "ended"."""
        return STATE_NAMES[self.state]

    def show(self, st, who):
        """The session as the ring shows it: while listening or in a session,
        fill ring.RingState `st` (mode, the talkers' directions, who speaks
        (`who`, this frame's attribution), the initiator's share overall and
        of the last minutes, heat, the time so far, and the session's own
        target, band and meeting length) and return True; otherwise False
        (the app shows idle or the ended session's summary)."""
        state = self.state
        if state != SESSION and state != LISTENING:
            return False
        ini = self.initiator_slot
        tally = self.tally  # listening or a session has one (_begin)
        st.mode = ring.MODE_CLAIM if self.claiming else (
            ring.MODE_SESSION if state == SESSION and ini >= 0 else ring.MODE_LISTENING)
        if ini >= 0:
            slot_az = self.model.slot_az
            az = slot_az[ini]
            st.initiator_az = az if az >= 0 else None
            az = slot_az[1 - ini]
            st.partner_az = az if az >= 0 else None
            if who == _BOTH:
                st.speaking = ring.SPEAK_BOTH
            elif who == _SLOT_A or who == _SLOT_B:
                st.speaking = ring.SPEAK_INITIATOR if who - _SLOT_A == ini else ring.SPEAK_PARTNER
            else:
                st.speaking = ring.SPEAK_NONE
            st.share_pm = tally.share_pm(ini)  # -1 until talk is attributed
            st.recent_share_pm = tally.recent_share_pm(ini)
            st.heat = 1 if tally.heated else 0
        st.hearing_low = self.hearing_low()
        st.elapsed_s = self._frames // self.frames_per_s
        st.target_pm = tally.target_pm
        st.band_pm = tally.band_pm
        st.meeting_s = self.meeting_s
        return True

    def record(self, now_s=None, timeline=True):
        """The session record (a dict; JSON-serialisable). timeline=False
        leaves the per-minute timeline out (write_record streams it). The
        code is tbfw.sessionrecord, loaded for it (tbfw.ondemand)."""
        return ondemand.call("sessionrecord", "record", self, now_s, timeline)

    def record_id(self):
        """<device>-<boot>-<session>, or <device>-<boot>-<boot id>-<session>
        on a device (the boot id is random per boot)."""
        if self.boot_id:
            return "%s-%d-%s-%d" % (self.device_id, self.boot, self.boot_id, self.session_no)
        return "%s-%d-%d" % (self.device_id, self.boot, self.session_no)

    def write_record(self, out, now_s=None):
        """The record as JSON into stream `out` (a write(bytes) method), piece
        by piece: the timeline a minute at a time, never the whole text in
        the heap (a two-hour record is about 4 KB of JSON). The same record
        as json.dumps(record()); called twice when saved (the store counts
        the bytes first), so it writes the same text each time."""
        ondemand.call("sessionrecord", "write", self, out, now_s)
