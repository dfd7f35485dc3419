# Talker model: learns the two talkers' directions online and attributes
# each speech frame to one of them, to both (overlap) or to nobody known.
#
# Directions are learned from a histogram of confident speech-frame azimuths
# (5-degree bins) that decays with speech time, so the device may be placed
# at any rotation and the talkers may move slowly. Two peaks at least
# MIN_SEPARATION apart become the two talker slots; a slot keeps its
# identity when the peaks are re-found (matched by nearest angle). A brief
# source (door, cough) adds too little weight to become a peak; a steady
# non-speech source (fan) never reaches the histogram because only speech
# frames count.
#
# Attribution uses hysteresis: the current talker changes only after a run
# of directional votes for the other; speech frames without a confident
# direction stay with the current talker while their burst lasts (until a
# pause), however long since the last vote: in a noisy room the votes are
# sparse, and the quieter talker's would otherwise run out first. Votes for
# both talkers within a short window mark the frame as overlap ("both").
# Frames are never guessed: a vote far from both talkers is "unknown".
#
# Directional noise (a fan, a TV at a fixed place) is told from a talker by
# its level: beside the direction histogram the model keeps the
# level-weighted votes of each bin, so every peak has a mean speech level. A
# peak more than _NOISE_DB under the loudest one is a noise source, never a
# talker slot; once one is known (and until a talker stands where it was),
# frames voting for it and frames more than _NOISE_DB under the quieter
# talker's level are background (NONE), so the noise takes no share. Of
# three sources the quietest is the noise, also when it outweighs both and
# stands between them, nearer each than two talkers may be (music between
# the two people); and a talker already known keeps their place against a
# quieter one that outweighs them (music heard while the initiator
# listens).

from array import array

from micropython import const

NONE = const(0)  # no speech
SLOT_A = const(1)
SLOT_B = const(2)
BOTH = const(3)
UNKNOWN = const(4)  # speech, talker not known

_BINS = const(72)  # 5-degree bins
_BIN_DEG = const(5)
_DECAY_EVERY = const(50)  # speech frames between decays (1 s at 20 ms)
# Decay: bin -= bin >> 6 every second of speech: half-life about 44 s of
# speech. Bound: a bin receives at most 3 * 256 per frame (centre + both
# neighbours' shares), so at most 50 * 768 = 38,400 between decays, and the
# decayed steady state is below 64 * 38,400 = 2,457,600 < 2^31.
_DECAY_SHIFT = const(6)
_SMOOTH_HALF = const(2)  # peaks are found on a 5-bin (25 degree) window
_PEAK_EVERY = const(50)  # frames between peak searches (1 s)
MIN_SEPARATION_DEG = const(60)
_MIN_PEAK_Q8 = const(256 * 40)  # about 0.8 s of confident speech in the window
_SECOND_PEAK_PCT = const(15)  # second peak at least this share of the first
GATE_DEG = const(45)  # a vote within this of a talker can be theirs
_MARGIN_DEG = const(8)  # and must be this much nearer than the other
_LEAD_MAX = const(3)
_LEAD_SWITCH = const(2)
_PAUSE_FRAMES = const(10)  # 200 ms without speech ends a burst
# a frame the noise source would take (its direction, or a level under the
# quieter talker's but within _MASKED_DB of it) this soon after the current
# talker's vote, with no pause between, is that talker's: the end of a word
# under the noise
_MASKED_FRAMES = const(_PAUSE_FRAMES)
_MASKED_DB = const(14)
_MASKED_Q8 = const(_MASKED_DB * 256)
_OVERLAP_WINDOW = const(10)  # frames of vote history for overlap: two votes for each talker within it
_WINDOW_MASK = const((1 << _OVERLAP_WINDOW) - 1)
_SILENT_Q8 = const(-30720)  # -120 dBFS, the front end's level of digital silence
# what background() found a speech frame to be
_TALK = const(0)  # a talker's (or it cannot tell)
_BG_LEVEL = const(1)  # the noise's: too quiet for either talker
_BG_DIRECTION = const(2)  # the noise's: a vote for its direction
_BG_FAINT = const(3)  # the noise's level, but within _MASKED_DB of the quieter talker's
_LVL_SHIFT = const(9)  # levels voted in 2 dB steps above -120 dBFS: 0..60
_NOISE_DB = const(10)  # a peak this far under the loudest one is noise, not a talker
_NOISE_Q8 = const(_NOISE_DB * 256)
# How well it hears (docs/record.md, `hearing`): the shares are unreliable
# when less than this per mille of the speech could be given to a talker
HEARD_MIN_PM = const(750)
# ... or when nobody was silent in less than this per mille of the session:
# two people leave pauses between and within their turns (at least 81 per
# mille on the tuning scenes), a TV as loud as they fills them (13 per mille)
PAUSE_MIN_PM = const(30)
# ... or when fewer than this per mille of the speech frames, once both
# talkers were known, carried a vote for one of them: the rest was carried
# from too few (at least 204 per mille on the tuning scenes at 5 dB, 118 on
# diffuse noise at 0 dB; docs/frontend.md, "Sparse votes in a noisy room")
_VOTED_MIN_PM = const(100)
_CROWD_Q8 = const(2 * 256)  # a third source within 2 dB of a talker: cannot tell which is which
_CROWD_PEAK_PCT = const(25)  # a third source counts at this share of the strongest peak ...
_THIRD_SEPARATION_DEG = const(30)  # ... this far from both talkers; it may displace
_THIRD_PEAK_PCT = const(40)  # a talker 2 dB quieter than it from this share
_KNOWN_DEG = const(15)  # a peak this near a talker slot is that talker's ...
_NEAR_VOTES = const(3)  # ... if they spoke from there (this many votes near it
# within one peak search's second) since the noise source was found, or at
_COEXIST_FRAMES = const(1500)  # most this long (30 s) before it
# a noise source within 4 dB of the quieter talker's level masks much of
# their speech and fills their pauses: a TV 5 dB under the talkers reads
# 2.6-3.5 dB under the quieter one by this measure (the median over a
# session's searches; its frames that pass the voice test are its louder
# ones), 10 and 12 dB under 4.4-7.2 dB (docs/frontend.md, "Noise the room
# makes")
_NEAR_Q8 = const(4 * 256)


def angle_diff(a, b):
    """Smallest absolute difference of two angles in degrees (0..180)."""
    d = (a - b) % 360
    return 360 - d if d > 180 else d


def zeros(typecode, n):
    """A zeroed array of n items, made at its size from a range and then
    cleared: built from [0] * n (or a zeroed bytes), the list would be
    garbage as large as the array or larger. The arrays made at boot (the
    front end's, the conversation's) and for each session use it."""
    out = array(typecode, range(n))
    for i in range(n):
        out[i] = 0
    return out


class TalkerModel:
    def __init__(self, min_conf_q8=64):
        self.min_conf_q8 = min_conf_q8
        self.hist = zeros("i", _BINS)
        # level-weighted votes: conf_q8 * (level above -120 dBFS in 2 dB steps,
        # 0..60); bound: 60 times the histogram's, < 1.5e8 a bin
        self.lvl = zeros("i", _BINS)
        self._smooth = zeros("i", _BINS)
        self.slot_db_q8 = [_SILENT_Q8, _SILENT_Q8]  # mean speech level of each slot's peak
        self.slot_az = [-1, -1]  # degrees, -1 = not learned
        self.reset()

    def reset(self):
        """Forget all that was learned (a new session), in the arrays and
        lists made by __init__: a reset allocates nothing."""
        hist, lvl, smooth = self.hist, self.lvl, self._smooth
        for i in range(_BINS):
            hist[i] = 0
            lvl[i] = 0
            smooth[i] = 0
        self.slot_db_q8[0] = self.slot_db_q8[1] = _SILENT_Q8
        self.slot_az[0] = self.slot_az[1] = -1
        self.noise_az = -1  # direction of a directional noise source; -1: none found
        self.noise_db_q8 = _SILENT_Q8  # ... its mean level, where noise_az >= 0
        self._searches = 0  # peak searches with two talkers found ...
        self._crowded = 0  # ... and of those, with a third source as loud as a talker
        self.crowded = False
        self._near = 0  # ... or with one within _NEAR_Q8 of the quieter talker
        self.noise_near = False
        self.heard = 0  # speech frames with both talkers known ...
        self.votes = 0  # ... and of those, with a vote for one of them
        self.sparse = False  # too few of them: _VOTED_MIN_PM
        self.current = NONE  # SLOT_A / SLOT_B: who holds the voice now
        self._lead = 0  # > 0 favours A, < 0 favours B
        self._votes_a = 0  # bit history of directional votes
        self._votes_b = 0
        self._since_vote = 1000
        self._silent = 0  # frames since the last speech frame
        self._speech_frames = 0
        self._frames = 0
        # votes within _KNOWN_DEG of each slot since the last peak search,
        # and the last search after which there were _NEAR_VOTES of them
        self._na = self._nb = 0
        self._near_a = self._near_b = -1
        self._noise_since = 0  # the frame the noise source was found where it is

    @property
    def learned(self):
        return self.slot_az[0] >= 0 and self.slot_az[1] >= 0

    def nearest_slot(self, az):
        """SLOT_A or SLOT_B nearest `az` among learned slots, or UNKNOWN."""
        best, best_d = UNKNOWN, 181
        for i in (0, 1):
            if self.slot_az[i] >= 0:
                d = angle_diff(az, self.slot_az[i])
                if d < best_d:
                    best, best_d = SLOT_A + i, d
        return best

    def vote_slot(self, az):
        """The slot a confident direction votes for, by the same gate and
        margin as attribution: SLOT_A, SLOT_B, NONE (the noise source's) or
        UNKNOWN (near neither)."""
        if not self.learned:
            return UNKNOWN
        if self.background(True, az, 0):
            return NONE
        return self._vote(az)

    def _vote(self, az):
        da = angle_diff(az, self.slot_az[0])
        db = angle_diff(az, self.slot_az[1])
        if da <= GATE_DEG and da + _MARGIN_DEG <= db:
            return SLOT_A
        if db <= GATE_DEG and db + _MARGIN_DEG <= da:
            return SLOT_B
        return UNKNOWN

    def _peak_db_q8(self, peak):
        """Mean level (dBFS * 256) of the votes within the smoothing window
        around a peak. Bounds: the sums are at most 5 bins of the histogram
        (< 1.3e7) and of the level votes (< 7.4e8), under 2^30."""
        hist, lvl = self.hist, self.lvl
        h = 0
        v = 0
        for k in range(peak - _SMOOTH_HALF, peak + _SMOOTH_HALF + 1):
            h += hist[k % _BINS]
            v += lvl[k % _BINS]
        h >>= 8
        if h <= 0:
            return _SILENT_Q8
        return _SILENT_Q8 + (v // h << _LVL_SHIFT) // 256

    def _find_peaks(self):
        hist, smooth = self.hist, self._smooth
        # moving sum over 2 * _SMOOTH_HALF + 1 bins, slid round the circle;
        # bound: 5 bins * 2,457,600 < 2^31. The loudest peak sets the level;
        # quieter ones by _NOISE_DB are noise.
        s = 0
        for k in range(-_SMOOTH_HALF, _SMOOTH_HALF + 1):
            s += hist[k % _BINS]
        top = 0
        high = s
        for i in range(_BINS):
            smooth[i] = s
            if s > high:
                high = s
                top = i
            s += hist[(i + _SMOOTH_HALF + 1) % _BINS] - hist[(i - _SMOOTH_HALF) % _BINS]
        if high < _MIN_PEAK_Q8:
            return
        # a peak: a bin of the window's sum no lower than either neighbour
        # (smooth[-1]: the last bin, the circle's)
        floor = high * _SECOND_PEAK_PCT // 100
        loud = _SILENT_Q8
        for i in range(_BINS):
            v = smooth[i]
            if v >= floor and v >= smooth[i - 1] and v >= smooth[(i + 1) % _BINS]:
                db = self._peak_db_q8(i)
                if db > loud:
                    loud = db
        loud -= _NOISE_Q8  # from here: the level under which a peak is noise
        noise = -1
        p1 = -1
        for i in range(_BINS):
            v = smooth[i]
            if v >= floor and v >= smooth[i - 1] and v >= smooth[(i + 1) % _BINS]:
                if self._peak_db_q8(i) < loud:
                    if noise < 0 or v > smooth[noise]:
                        noise = i
                elif p1 < 0 or v > smooth[p1]:
                    p1 = i
        if noise >= 0:
            self._noise_at(self._centroid(noise), self._peak_db_q8(noise))
        if p1 < 0 or smooth[p1] < _MIN_PEAK_Q8:
            return
        min_bins = MIN_SEPARATION_DEG // _BIN_DEG
        near = _THIRD_SEPARATION_DEG // _BIN_DEG
        p2 = -1
        q2 = -1  # the strongest peak nearer the first: _THIRD_SEPARATION_DEG..MIN_SEPARATION_DEG
        for i in range(_BINS):
            v = smooth[i]
            # a real peak (not on the shoulder of the first one), not noise
            if v >= smooth[i - 1] and v >= smooth[(i + 1) % _BINS]:
                d = i - p1
                if d < 0:
                    d = -d
                if near <= d <= _BINS - near and (noise < 0 or self._peak_db_q8(i) >= loud):
                    if min_bins <= d <= _BINS - min_bins:
                        if p2 < 0 or v > smooth[p2]:
                            p2 = i
                    elif q2 < 0 or v > smooth[q2]:
                        q2 = i
        # the weight a second talker needs (bound: 5 bins * 2,457,600 * 15 < 2^31)
        need = (smooth[p1] * _SECOND_PEAK_PCT + 99) // 100
        if need < _MIN_PEAK_Q8 // 2:
            need = _MIN_PEAK_Q8 // 2
        if p2 < 0 or smooth[p2] < need:
            # none apart from the first peak: a nearer one, for the
            # three-source rule below to decide (the first may be a steady
            # source between the two, music 40-60 degrees from each)
            p2 = q2
            if p2 < 0 or smooth[p2] < need:
                self._single(p1)
                return
        # a third source nearly as strong as the talkers (a TV or music):
        # only two people talk, so the quietest of the three is noise when it
        # is _CROWD_DB under both others; closer than that, which two are the
        # people is a guess, and the model says so (crowded)
        # A talker already known and heard since the noise source was found
        # (_known) counts as a third source down to the weight a second
        # talker needs: the initiator who listens for minutes fades in the
        # histogram while a steady source (music) does not.
        p3 = -1
        floor = smooth[top] * _CROWD_PEAK_PCT
        for i in range(_BINS):
            v = smooth[i]
            if (v * 100 >= floor or v >= _MIN_PEAK_Q8 // 2 and self._known(i)) and \
                    (p3 < 0 or v > smooth[p3]) and v >= smooth[i - 1] and \
                    v >= smooth[(i + 1) % _BINS] and self._apart(i, p1, near) and \
                    self._apart(i, p2, near) and self._peak_db_q8(i) >= loud:
                p3 = i
        crowded = False
        masking = False
        low = 0  # the quietest of the three, the noise, when they are told apart
        if p3 >= 0:
            l1 = self._peak_db_q8(p1)
            l2 = self._peak_db_q8(p2)
            l3 = self._peak_db_q8(p3)
            strong = smooth[p3] * 100 >= smooth[top] * _THIRD_PEAK_PCT or self._known(p3)
            if l3 + _CROWD_Q8 <= min(l1, l2):
                pass
            elif strong and l1 + _CROWD_Q8 <= min(l2, l3) and self._apart(p2, p3, min_bins):
                p1, p3 = p3, p1
            elif strong and l2 + _CROWD_Q8 <= min(l1, l3) and self._apart(p1, p3, min_bins):
                p2, p3 = p3, p2
            else:
                crowded = True
            if not crowded:
                # the quietest of the three; masking when within _NEAR_Q8
                # of the quieter talker, the middle one
                low = min(l1, l2, l3)
                masking = low + _NEAR_Q8 > l1 + l2 + l3 - low - max(l1, l2, l3)
        if not self._apart(p1, p2, min_bins):  # the nearer peak, and no source between two talkers
            self._single(p1)
            return
        if p3 >= 0 and not crowded:
            self._noise_at(self._centroid(p3), low)
        self._searches += 1
        if crowded:
            self._crowded += 1
        elif masking:
            self._near += 1
        # a third source as loud as a talker in more than a third of the
        # searches: which two are the people is a guess; one near the quieter
        # talker's level as often: much of their speech is masked
        self.crowded = self._crowded * 3 > self._searches
        self.noise_near = self._near * 3 > self._searches
        a1 = self._centroid(p1)
        a2 = self._centroid(p2)
        s0, s1 = self.slot_az
        if s0 < 0 or s1 < 0:
            # Keep an existing single slot's identity.
            swap = s0 >= 0 and angle_diff(s0, a2) < angle_diff(s0, a1)
        else:
            swap = angle_diff(s0, a1) + angle_diff(s1, a2) > angle_diff(s0, a2) + angle_diff(s1, a1)
        k = 1 if swap else 0  # the slot of the first peak
        self.slot_az[k] = a1
        self.slot_az[1 - k] = a2
        self.slot_db_q8[k] = self._peak_db_q8(p1)
        self.slot_db_q8[1 - k] = self._peak_db_q8(p2)
        # a noise source not found this time (its peak on a talker's
        # shoulder) is still there, unless a talker now stands where it was
        n = self.noise_az
        if n >= 0 and (angle_diff(n, a1) < _THIRD_SEPARATION_DEG or angle_diff(n, a2) < _THIRD_SEPARATION_DEG):
            self.noise_az = -1

    def _single(self, p1):
        """One talker found: before anything is learned, the first peak is slot A."""
        if self.slot_az[0] < 0:
            self.slot_az[0] = self._centroid(p1)

    def _noise_at(self, az, db_q8):
        n = self.noise_az
        if n < 0 or angle_diff(n, az) > _KNOWN_DEG:
            self._noise_since = self._frames
        self.noise_az = az
        self.noise_db_q8 = db_q8

    def _known(self, peak):
        """Whether a histogram peak is where a talker slot is, and that
        talker spoke from there since the noise source was found (or in
        the 30 s before): both were heard then, so neither is the other. A
        talker who moved away, last heard there before the source at their
        new place was found, is not held where they were."""
        if self.noise_az < 0:
            return False
        az = peak * _BIN_DEG + _BIN_DEG // 2
        for k in (0, 1):
            s = self.slot_az[k]
            if s >= 0 and angle_diff(az, s) <= _KNOWN_DEG and \
                    (self._near_b if k else self._near_a) + _COEXIST_FRAMES > self._noise_since:
                return True
        return False

    def _apart(self, i, j, bins):
        d = abs(i - j)
        return min(d, _BINS - d) >= bins

    def _centroid(self, peak):
        # Weighted mean of the bins around a peak, in degrees (bin centres).
        total = 0
        moment = 0
        hist = self.hist
        for k in range(-_SMOOTH_HALF - 1, _SMOOTH_HALF + 2):
            w = hist[(peak + k) % _BINS] >> 8  # q8 -> frames, keeps moment < 2^31
            total += w
            moment += w * k
        offset = (moment * _BIN_DEG) // total if total else 0
        return (peak * _BIN_DEG + _BIN_DEG // 2 + offset) % 360

    def background(self, confident, azimuth_deg, level_db_q8):
        """Whether a speech frame is the known noise source's rather than a
        talker's: _BG_LEVEL for a level more than _NOISE_DB under the quieter
        talker's, _BG_DIRECTION for a vote nearer the noise's direction than
        either talker's (within GATE_DEG of it), else _TALK (0)."""
        noise = self.noise_az
        s0, s1 = self.slot_az
        if noise < 0 or s0 < 0 or s1 < 0:  # none found, or not learned
            return _TALK
        d0, d1 = self.slot_db_q8
        quiet = d1 if d1 < d0 else d0
        if level_db_q8 < quiet - _NOISE_Q8:
            return _BG_LEVEL if level_db_q8 < quiet - _MASKED_Q8 else _BG_FAINT
        if not confident:
            return _TALK
        dn = angle_diff(azimuth_deg, noise)
        if dn <= GATE_DEG and dn < angle_diff(azimuth_deg, s0) and dn < angle_diff(azimuth_deg, s1):
            return _BG_DIRECTION
        return _TALK

    def update(self, speech, direction_valid, azimuth_deg, conf_q8, level_db_q8=0):
        """Attribute one frame (level: the front end's frame level, dBFS * 256).
        Returns NONE, SLOT_A, SLOT_B, BOTH or UNKNOWN."""
        frames = self._frames + 1
        self._frames = frames
        confident = speech and direction_valid and conf_q8 >= self.min_conf_q8
        if confident:
            # learn: the vote into its bin and half into each neighbour's
            b = (azimuth_deg // _BIN_DEG) % _BINS
            hist = self.hist
            lvl = self.lvl
            steps = (level_db_q8 - _SILENT_Q8) >> _LVL_SHIFT
            if steps < 0:
                steps = 0
            elif steps > 60:
                steps = 60
            half = conf_q8 >> 1
            up = (b + 1) % _BINS
            down = (b - 1) % _BINS
            hist[b] += conf_q8
            hist[up] += half
            hist[down] += half
            lvl[b] += conf_q8 * steps
            half *= steps
            lvl[up] += half
            lvl[down] += half
            n = self._speech_frames + 1
            self._speech_frames = n
            if n % _DECAY_EVERY == 0:
                for i in range(_BINS):
                    hist[i] -= hist[i] >> _DECAY_SHIFT
                    lvl[i] -= lvl[i] >> _DECAY_SHIFT
        if frames % _PEAK_EVERY == 0:
            # each side < 2^30 for 5.9 h of 20 ms frames (a session is at most 4 h; at
            # 10 ms frames past 3 h it is a long int once a second, still exact)
            self.sparse = self.votes * 1000 < _VOTED_MIN_PM * self.heard
            if self._na >= _NEAR_VOTES:
                self._near_a = frames
            if self._nb >= _NEAR_VOTES:
                self._near_b = frames
            self._na = self._nb = 0
            self._find_peaks()
        bg = _TALK
        if speech and self.noise_az >= 0:
            bg = self.background(confident, azimuth_deg, level_db_q8)
        if (bg == _BG_DIRECTION or bg == _BG_FAINT) and self.current != NONE and self._silent == 0 and self._since_vote < _MASKED_FRAMES:
            confident = False  # mid-word: the noise masked the talker's direction or level
        elif bg:
            speech = False
        # the vote history: one bit a frame, the newest lowest
        va = (self._votes_a << 1) & _WINDOW_MASK
        vb = (self._votes_b << 1) & _WINDOW_MASK
        if not speech:
            self._since_vote += 1
            self._silent += 1
            self._votes_a = va
            self._votes_b = vb
            return NONE
        if self._silent >= _PAUSE_FRAMES:
            # After a pause the next talker may be either: no inertia from
            # the last burst; the first confident vote decides, and two
            # votes against it switch (the turn's first words count).
            self._lead = 0
            self.current = NONE
        self._silent = 0
        vote = UNKNOWN
        slot_az = self.slot_az
        if slot_az[0] >= 0 and slot_az[1] >= 0:
            self.heard += 1
            if confident:
                vote = self._vote(azimuth_deg)
        current = self.current
        if vote == SLOT_A or vote == SLOT_B:
            self.votes += 1
            self._since_vote = 0
            lead = self._lead
            if vote == SLOT_A:
                va |= 1
                lead = lead + 1 if lead < _LEAD_MAX else _LEAD_MAX
                if angle_diff(azimuth_deg, slot_az[0]) <= _KNOWN_DEG:
                    self._na += 1
            else:
                vb |= 1
                lead = lead - 1 if lead > -_LEAD_MAX else -_LEAD_MAX
                if angle_diff(azimuth_deg, slot_az[1]) <= _KNOWN_DEG:
                    self._nb += 1
            self._lead = lead
            if current != SLOT_A and lead >= _LEAD_SWITCH:
                current = SLOT_A
            elif current != SLOT_B and lead <= -_LEAD_SWITCH:
                current = SLOT_B
            elif current == NONE:
                current = vote
            self.current = current
        else:
            self._since_vote += 1
        self._votes_a = va
        self._votes_b = vb
        # at least two votes for each within the window: a second bit set
        if va & (va - 1) and vb & (vb - 1):
            return BOTH
        if current != NONE:
            return current
        return UNKNOWN  # a burst's first words, before its first vote
