# Session tally: what each talker did, frame by frame, in integer counters.
#
# Counters are frames (20 ms default): a 3-hour session is 540,000 frames,
# far inside MicroPython's small-int range (about +-2^30 on a 32-bit port), so
# no counter ever becomes a heap-allocated big int. Level sums are kept in
# whole dB (|level| <= 120 dB), 540,000 * 120 = 6.5e7 < 2^30.
#
# Slots are the talker model's A and B (index 0 and 1); roles are bound
# later (claim or rule), so the tally stays in slot terms.
#
# Floor model (docs/record.md, "The conversation figures"): a talker
# "takes the floor" after TAKE_FRAMES of their own speech since the other
# last spoke alone; shorter utterances are backchannels. The hangover after
# a talker's last word (frames the voice activity holds as speech without
# being over its threshold) is attributed speech (the share), but does not
# count towards taking the floor; of it, only frames with the level still
# over the noise floor are talk time (`still` counts the others). A take is
# an interruption when the floor's holder spoke over the run that took it
# for at least over_frames (overlap, "both"); a take after a pause records
# that pause, from the other's last word (or the pause just before, when the
# new talker's first words went to the other), as a response gap (a
# histogram gives the median without storing every gap).

from array import array

from micropython import const

# tbfw.talker's attribution codes, the same values (tests/fw/fwtest_tally.py
# checks them): constants here are folded into the code, where talker.NONE
# is two lookups at every use
_NONE = const(0)
_SLOT_A = const(1)
_SLOT_B = const(2)
_BOTH = const(3)
_UNKNOWN = const(4)

_GAP_BINS = const(50)  # response gap histogram: 100 ms bins up to 5 s
_GAP_BIN_MS = const(100)
_HEAT_WINDOW_S = const(10)
_HEAT_RISE_DB = const(4)  # level rise over own baseline that counts as heated
_HEAT_BOTH_DB = const(3)  # both talkers this much over their baselines: contested
_HEAT_OVERLAP_PM = const(60)  # overlap frames per mille of speech in a window
_HEAT_ON_WINDOWS = const(2)
_HEAT_OFF_WINDOWS = const(2)
_BASELINE_WINDOWS = const(6)  # calm windows that set a talker's baseline
_HELD_MAX = const(50)  # hangover frames held back at most (the front end holds 8)


def in_band(share_pm, target_pm, band_pm):
    """The one definition of "in band": a share (per mille; -1 before any
    talk) within target +/- band, both ends included. The tally counts
    in-band time with it, the ring colours by it, and the laptop's
    summaries use it too."""
    return share_pm >= 0 and target_pm - band_pm <= share_pm <= target_pm + band_pm


class Tally:
    def __init__(self, frame_ms, target_pm, band_pm, band_after_s=300, max_minutes=241):
        self.frame_ms = frame_ms
        self.frames_per_s = 1000 // frame_ms
        self.take_frames = 800 // frame_ms  # 0.8 s of speech takes the floor
        self.over_frames = 80 // frame_ms  # overlap that makes a take an interruption
        self.gap_lag = 200 // frame_ms  # the talker model's pause: it may take this long to change talker
        self.run_pause = 300 // frame_ms  # a pause this long ends a run of speech
        self.target_pm = target_pm
        self.band_pm = band_pm
        self.band_after_frames = band_after_s * self.frames_per_s
        self.frames = 0
        self.talk = [0, 0]
        self.both = 0
        # frames of each slot's talk (alone or both) that only the hangover
        # held, with the level back at the noise floor: in the share, not
        # in talk time (record: talk_s and held_s)
        self.still = [0, 0]
        self.unknown = 0
        self.silence = 0
        self.turns = [0, 0]
        self.interruptions = [0, 0]
        self.longest = [0, 0]
        self.level_sum_db = [0, 0]
        self.level_n = [0, 0]
        self.gaps = [array("H", [0] * _GAP_BINS), array("H", [0] * _GAP_BINS)]
        self.changes = 0
        # In-band time is counted once a second after band_after_s, for each
        # slot (the initiator may be bound, or rebound by a claim, later):
        # the record takes the initiator's count. Each <= 3 h of frames.
        self.in_band_frames = [0, 0]
        self.band_frames = 0
        # hangover frames held back (add): how many, whose, their dB sum
        self._held = 0
        self._held_who = _NONE
        self._held_db = 0
        self._tailing = False
        # the last pause of the voice (frames not over the threshold): its
        # length and the frame the voice resumed at
        self._quiet = 0
        self._quiet_last = 0
        self._quiet_end = -1000000
        # floor state
        self.floor = -1  # slot holding the floor, -1 none
        self._floor_start = 0
        self._last_speech = [-1000000, -1000000]  # frame of each slot's last speech
        self._last_voiced = [-1000000, -1000000]  # ... not in the hangover after a word
        self._run_start = [-1, -1]  # start frame of a run that may take the floor
        self._run_len = [0, 0]
        self._run_over = [0, 0]  # frames of a run the floor's holder spoke over
        self._run_gap = [-1, -1]
        # frames the talkers could not be heard by direction: the microphones
        # working differ from those they were learned with (Pipeline.attribute)
        self.lost = 0
        # heat
        self._win_frames = _HEAT_WINDOW_S * self.frames_per_s
        self._win_level = [0, 0]
        self._win_n = [0, 0]
        self._win_both = 0
        self._win_speech = 0
        self._win_interrupts = 0
        self._baseline = [0, 0]
        self._baseline_n = [0, 0]
        self._rise_db = [-1000, -1000]  # each talker's latest window over their baseline, dB
        self._hot_windows = 0
        self._cool_windows = 0
        self.heated = False
        self.heat = []  # [start_s, end_s] episodes; one append per episode
        self._heat_start = 0
        # timeline: per whole minute, frames of slot A, slot B and overlap
        # (at most 3,000 each) with the heat flag in bit 15 of the last: three
        # 16-bit words a minute in one array (a list a minute cost 48 bytes
        # on a 32-bit port), at most max_minutes of them (a session that runs
        # on adds its later minutes to the last one)
        self.max_minutes = max_minutes
        self.minutes = 0  # whole minutes closed
        self._tl = array("H")
        self._minute = [0, 0, 0, 0]
        self._minute_frames = 60 * self.frames_per_s
        # recent_share_pm's closed minutes: A, B and overlap frames over the
        # last _recent_back of them (-1: to be summed again)
        self._recent_a = self._recent_b = self._recent_both = 0
        self._recent_back = -1

    # -- per frame ---------------------------------------------------------

    def add(self, who, level_db_q8, voiced=True, heard=True):
        """Count one frame: `who` is a talker.* attribution; `voiced`: the
        frame itself was over the voice threshold (False when only the
        voice activity's hangover holds it); `heard`: its level was not
        under the noise floor. Hangover frames are held back until the
        same voice resumes (then they were a pause inside speech) or not
        (then they were the tail after a last word): attributed speech
        either way, but a tail does not count towards taking the floor,
        and a response gap is measured from the word before it. A
        hangover frame back at the noise floor (not `heard`) is silence
        to the ear: it stays in the share, but is left out of talk time
        (`still`); one with sound over the floor is the quiet end of a
        word and is talk time."""
        f = self.frames
        self.frames = f + 1
        if who == _NONE:
            self._quiet += 1  # <= frames counted
            if self._held:
                self._release(False)  # silence: these were a tail
            self.silence += 1
        elif voiced:
            if self._quiet:  # a pause ends: kept for a response gap
                self._quiet_last = self._quiet
                self._quiet_end = f
                self._quiet = 0
            if self._held:
                self._release(who == self._held_who)  # another voice: these were a tail
            self._count(who, level_db_q8 >> 8, f)
        else:
            self._quiet += 1
            if self._held and (who != self._held_who or self._held >= _HELD_MAX):
                self._release(who == self._held_who)
            self._held += 1
            self._held_who = who
            if not heard:  # counted now: released, it is counted for the same `who`
                if who == _SLOT_A or who == _SLOT_B:
                    self.still[who - _SLOT_A] += 1
                elif who == _BOTH:
                    self.still[0] += 1
                    self.still[1] += 1
            self._held_db += level_db_q8 >> 8  # |dB| <= 120: at most 120 * _HELD_MAX
        floor = self.floor
        if floor >= 0:
            span = self._last_speech[floor] - self._floor_start + 1
            if span > self.longest[floor]:
                self.longest[floor] = span
        f += 1
        fps = self.frames_per_s
        if f % fps == 0:  # a second ends at this frame (heat windows and minutes are whole seconds)
            if f > self.band_after_frames:  # ... and lies after band_after_s
                self.band_frames += fps
                if in_band(self.share_pm(0), self.target_pm, self.band_pm):
                    self.in_band_frames[0] += fps
                if in_band(self.share_pm(1), self.target_pm, self.band_pm):
                    self.in_band_frames[1] += fps
            if f % self._win_frames == 0:
                self._close_heat_window(f)
            if f % self._minute_frames == 0:
                self._close_minute()

    def _count(self, who, db, f):
        """Count frame f (its level `db`, whole dB) for `who`."""
        if who == _SLOT_A or who == _SLOT_B:
            slot = who - _SLOT_A
            self.talk[slot] += 1
            self._minute[slot] += 1
            self._win_speech += 1
            self.level_sum_db[slot] += db
            self.level_n[slot] += 1
            self._win_level[slot] += db
            self._win_n[slot] += 1
            self._speech(slot, f, False)
        elif who == _BOTH:
            self.both += 1
            self._minute[2] += 1
            self._win_both += 1
            self._win_speech += 1
            first = 1 if self.floor == 0 else 0  # the holder last: its speech is over the other's run
            self._speech(first, f, True)
            self._speech(1 - first, f, True)
        elif who == _UNKNOWN:
            self.unknown += 1
        else:
            self.silence += 1

    def _release(self, inner):
        """Count the held hangover frames: as speech either way; when no
        voice of the same talker followed (not `inner`), as the tail after
        their last word, which neither takes the floor nor delays the
        other's response gap."""
        n = self._held
        who = self._held_who
        db = self._held_db // n
        extra = self._held_db - db * n  # 0..n-1 frames a dB higher: the sum kept exactly
        f = self.frames - 1 - n  # the first held frame (the current one is not held)
        self._tailing = not inner
        for i in range(n):
            self._count(who, db + 1 if i < extra else db, f + i)
        self._tailing = False
        self._held = 0
        self._held_db = 0

    def settle(self):
        """Count any held frames as a tail (the record is being made)."""
        if self._held:
            self.frames += 1  # _release counts frames before the current one
            self._release(False)
            self.frames -= 1

    def _speech(self, slot, f, overlapped):
        other = 1 - slot
        paused = f - self._last_speech[slot] > self.run_pause
        self._last_speech[slot] = f
        if not self._tailing:
            self._last_voiced[slot] = f
        if self.floor == slot:
            if overlapped:
                self._run_over[other] += 1  # the other's run goes on over this
            else:
                self._run_len[other] = 0  # alone: the other's run was a fragment
            return
        if self._run_len[slot] == 0 or paused:
            # a new run: a backchannel and a later turn after a pause are two runs
            self._run_len[slot] = 0
            self._run_over[slot] = 0
            self._run_start[slot] = f
            gap = f - self._last_voiced[other] - 1
            if f - self._quiet_end <= self.gap_lag and self._quiet_last > gap:
                # the pause before the voice resumed, when the talker model
                # gave this person's first words to the other (it needs up
                # to gap_lag to change talker after a short pause)
                gap = self._quiet_last
            self._run_gap[slot] = gap if self.floor == other and gap >= 0 else -1
        if self._tailing:
            return
        self._run_len[slot] += 1
        if self._run_len[slot] >= self.take_frames or self.floor < 0:
            self._take(slot)

    def _take(self, slot):
        if self.floor >= 0:
            self.changes += 1
            gap = self._run_gap[slot]
            if self._run_over[slot] >= self.over_frames:
                self.interruptions[slot] += 1
                self._win_interrupts += 1
            elif gap >= 0:
                b = gap * self.frame_ms // _GAP_BIN_MS
                hist = self.gaps[slot]
                b = b if b < _GAP_BINS else _GAP_BINS - 1
                if hist[b] < 65535:
                    hist[b] += 1
        self.turns[slot] += 1
        self.floor = slot
        self._floor_start = self._run_start[slot] if self._run_start[slot] >= 0 else self.frames - 1
        self._run_len[0] = self._run_len[1] = 0

    def credit(self, slot, frames):
        """Count `frames` of earlier speech for `slot` (heard before the
        talkers were learned, or the first words of the burst under way,
        before its first vote): talk time, and the timeline's minutes from
        this one back, each filled at most to the frames it lasted (the
        speech was heard in them; a minute never holds more than a minute).
        No turn: the caller counts one where the speech was a turn."""
        if frames <= 0:
            return
        self.talk[slot] += frames
        m = self._minute
        elapsed = self.frames - self.minutes * self._minute_frames  # frames of the minute under way
        room = elapsed - m[0] - m[1] - m[2]
        take = frames if room >= frames else (room if room > 0 else 0)
        m[slot] += take
        left = frames - take
        tl = self._tl
        i = self.minutes - 1
        while left > 0 and i >= 0:
            room = self._minute_frames - tl[3 * i] - tl[3 * i + 1] - (tl[3 * i + 2] & 0x7FFF)
            take = left if room >= left else (room if room > 0 else 0)
            tl[3 * i + slot] += take
            left -= take
            i -= 1
        m[slot] += left  # nothing should be left: the speech was heard in these minutes
        self._recent_back = -1

    def hold(self, slot):
        """`slot` holds the floor from this frame without a new turn: its
        turn began in speech credited before (credit)."""
        self.floor = slot
        self._floor_start = self.frames
        self._run_len[0] = self._run_len[1] = 0

    # -- windows -----------------------------------------------------------

    def _close_heat_window(self, f):
        rise = False
        for slot in (0, 1):
            n = self._win_n[slot]
            if n < self.frames_per_s:  # under 1 s of speech: no level evidence
                continue
            level = self._win_level[slot] // n
            if self._baseline_n[slot] < _BASELINE_WINDOWS:
                if not self.heated:
                    bn = self._baseline_n[slot]
                    self._baseline[slot] = (self._baseline[slot] * bn + level) // (bn + 1)
                    self._baseline_n[slot] = bn + 1
                continue
            self._rise_db[slot] = level - self._baseline[slot]
            if level - self._baseline[slot] >= _HEAT_RISE_DB:
                rise = True
        speech = self._win_speech
        # contested: cut in on, spoken over, or both people louder (the
        # other's latest window with speech): one person alone getting
        # louder (leaning in, turning to the device) is not heat
        both_louder = self._rise_db[0] >= _HEAT_BOTH_DB and self._rise_db[1] >= _HEAT_BOTH_DB
        contested = both_louder or self._win_interrupts > 0 or (
            speech and self._win_both * 1000 >= _HEAT_OVERLAP_PM * speech)
        if rise and contested:
            self._hot_windows += 1
            self._cool_windows = 0
        else:
            self._cool_windows += 1
            self._hot_windows = 0
        if not self.heated and self._hot_windows >= _HEAT_ON_WINDOWS:
            self.heated = True
            self._heat_start = f - _HEAT_ON_WINDOWS * self._win_frames
        elif self.heated and self._cool_windows >= _HEAT_OFF_WINDOWS:
            self.heated = False
            self.heat.append([self._heat_start, f - _HEAT_OFF_WINDOWS * self._win_frames])
        self._win_level[0] = self._win_level[1] = 0
        self._win_n[0] = self._win_n[1] = 0
        self._win_both = self._win_speech = self._win_interrupts = 0

    def _close_minute(self):
        m = self._minute
        tl = self._tl
        heat = 0x8000 if self.heated else 0
        if self.minutes < self.max_minutes:
            self.minutes += 1
            tl.append(m[0])
            tl.append(m[1])
            tl.append(m[2] | heat)
        else:  # past the longest session: fold into the last minute
            i = 3 * (self.minutes - 1)
            tl[i] = min(0x7FFF, tl[i] + m[0])
            tl[i + 1] = min(0x7FFF, tl[i + 1] + m[1])
            tl[i + 2] = min(0x7FFF, (tl[i + 2] & 0x7FFF) + m[2]) | (tl[i + 2] & 0x8000) | heat
        m[0] = m[1] = m[2] = m[3] = 0
        self._recent_back = -1

    def minute(self, i):
        """Whole minute i as [A frames, B frames, overlap frames, heat 0/1]."""
        tl = self._tl
        c = tl[3 * i + 2]
        return [tl[3 * i], tl[3 * i + 1], c & 0x7FFF, c >> 15]

    # -- results -----------------------------------------------------------

    def share_pm(self, slot=0):
        """Slot's share of attributed talk, per mille (-1 before any talk)."""
        total = self.talk[0] + self.talk[1] + 2 * self.both
        if total == 0:
            return -1
        return (1000 * (self.talk[slot] + self.both) + total // 2) // total

    def recent_share_pm(self, slot=0, minutes=3):
        """Slot's share over the last few whole minutes plus this one."""
        m = self._minute
        if self._recent_back != minutes:  # the closed minutes summed again: the timeline changed
            a = b = both = 0
            tl = self._tl
            for i in range(max(0, self.minutes - minutes), self.minutes):  # no slice: no allocation
                a += tl[3 * i]
                b += tl[3 * i + 1]
                both += tl[3 * i + 2] & 0x7FFF
            self._recent_a = a
            self._recent_b = b
            self._recent_both = both
            self._recent_back = minutes
        both = m[2] + self._recent_both
        own = m[slot] + (self._recent_b if slot else self._recent_a) + both
        total = m[0] + m[1] + self._recent_a + self._recent_b + 2 * both
        return (1000 * own + total // 2) // total if total else -1

    def band_counts(self, slot, end_frames):
        """(frames after band_after_s, of which in band for `slot`) up to
        `end_frames` (<= frames counted): None before band_after_s was
        reached. Cutting back is exact because only silence follows
        `end_frames` (the trailing silence of a session ended by silence),
        and the shares do not change in silence."""
        fps = self.frames_per_s
        after = end_frames // fps * fps - self.band_after_frames
        if after <= 0:
            return None
        cut = self.band_frames - after
        inside = self.in_band_frames[slot]
        if cut > 0 and in_band(self.share_pm(slot), self.target_pm, self.band_pm):
            inside -= cut
        return after, inside

    def median_gap_ms(self, slot):
        """Median response gap, ms (-1: none): interpolated within its
        100 ms bin, as if the gaps in it were spread evenly over it."""
        hist = self.gaps[slot]
        n = 0
        for c in hist:
            n += c
        if n == 0:
            return -1
        seen = 0
        for b in range(_GAP_BINS):
            c = hist[b]
            if 2 * (seen + c) >= n:
                # the median's place in this bin: (n / 2 - seen) of c gaps;
                # 2 * n * 100 < 2^30 for n < 2^22 gaps (a bin holds < 65536)
                return b * _GAP_BIN_MS + (_GAP_BIN_MS * (n - 2 * seen)) // (2 * c)
            seen += c
        return -1

    def heat_episodes(self):
        """Closed episodes plus the open one, in frames."""
        out = [list(e) for e in self.heat]
        if self.heated:
            out.append([self._heat_start, self.frames])
        return out

    def open_minute(self):
        """The minute under way as [A, B, overlap, heat], None if nothing
        has been counted in it."""
        m = self._minute
        if m[0] or m[1] or m[2]:
            return [m[0], m[1], m[2], 1 if self.heated else 0]
        return None
