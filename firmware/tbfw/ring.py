# LED ring: what the people at the table see.
#
# RingState holds what the app knows (plain attributes, filled each frame);
# Ring.render(state, now_ms, out) is a pure function of that state and the
# time that writes GRB bytes (the neopixel `buf` layout) into `out`. Nothing
# is allocated per frame: every intermediate lives in buffers made by
# Ring.__init__, and all arithmetic is on small integers.
#
# Picture (docs/ring.md shows every state):
# - The ring is seen from above; slot s sits at azimuth led0 + s*360/count
#   (counter-clockwise, docs/design.md); LED index per slot follows the
#   board's direction.
# - Session: an arc centred on the initiator's LED, as wide as the
#   initiator's share of the ring (30% share = 30% of the ring), coloured by
#   the band: under (sky blue), in band (bluish green), drifting over
#   (yellow), far over (orange). Two soft white ticks mark the target width;
#   at a share exactly on target the arc ends on them. Two bright dots mark
#   the share of the last few minutes (outside the arc: recently more,
#   inside: recently less). A warm dot walks clockwise from the point
#   opposite the initiator and comes back to it at the planned meeting
#   length; it turns yellow for the wrap-up and the ring glows faintly warm
#   past the mark. Heat makes the dark LEDs breathe in the initiator's blue,
#   six breaths a minute. Each talker's LED shows the role colour (initiator
#   blue, partner reddish purple), brighter and wider while speaking.
# - All warm accents sit on the initiator's own arc: nothing points a warning
#   at the partner, and nothing is red.
#
# Output chain: perceptual level 0..255 -> gamma 2.2 under the board's cap
# (ring.max_brightness) -> brightness_pct (linear in light) -> power budget
# (sum of all channel values <= Ring.budget, from the board file) -> GRB bytes.

import micropython
from micropython import const

from tbfw.tally import in_band

MODE_IDLE = const(0)
MODE_LISTENING = const(1)
MODE_CLAIM = const(2)
MODE_SESSION = const(3)
MODE_ENDED = const(4)
MODE_SYNCING = const(5)
MODE_ERROR = const(6)
MODE_NAMES = ("idle", "listening", "claim", "session", "ended", "syncing", "error")

SPEAK_NONE = const(0)
SPEAK_INITIATOR = const(1)
SPEAK_PARTNER = const(2)
SPEAK_BOTH = const(3)

AZ_UNKNOWN = const(-1)

# Band of the initiator's share (see band_of).
BAND_UNDER = const(0)
BAND_IN = const(1)
BAND_DRIFT = const(2)
BAND_FAR = const(3)
BAND_NAMES = ("under", "in band", "drifting over", "far over")
_FAR_BANDS = const(3)  # far over beyond target + 3 half-bands (45% by default)

# Palette, 0xRRGGBB in sRGB terms (Okabe-Ito, safe for the common forms of
# colour blindness) plus a warm white for neutral marks.
C_INITIATOR = const(0x0072B2)  # blue
C_PARTNER = const(0xCC79A7)  # reddish purple
C_INITIATOR_TALK = const(0x80C8FF)  # the same roles, lighter while speaking
C_PARTNER_TALK = const(0xFFB4DC)
C_UNDER = const(0x56B4E9)  # sky blue
C_IN_BAND = const(0x009E73)  # bluish green
C_DRIFT = const(0xF0E442)  # yellow
C_FAR = const(0xE69F00)  # orange
C_NEUTRAL = const(0xFFD8A8)  # warm white: target ticks, pacing, idle
C_FAULT = const(0xD55E00)  # vermillion: device faults only, never a person
C_STORAGE = const(0xF0E442)  # yellow

# Perceptual levels out of 256.
_L_ARC = const(180)
_L_ARC_ENDED = const(210)
_L_TICK = const(120)
_L_TREND = const(256)
_L_PACE = const(170)
_L_WRAP = const(230)
_L_WRAP_GLOW = const(100)
_L_OVERTIME = const(80)
_L_MARK = const(150)  # resting marker: a third of the speaking light
_L_MARK_TALK = const(256)
_L_TALK_GLOW = const(120)
_L_CLAIM = const(230)
_L_IDLE = const(120)
_L_COMET = const(210)
_L_FAULT = const(230)
_L_ARC_HEARING_LOW = const(90)  # the share, dimmed, while it cannot be trusted
_L_HEAR_LOW = const(40)  # "can't hear well": two neutral side marks, 40..140
_L_HEAR_SWING = const(100)

# Timing, milliseconds.
FRAME_MS = const(40)  # a ring frame every 40 ms: 25 a second (RingDriver, the crash pattern)
_BREATH_MS = const(10000)  # six breaths a minute
_COMET_MS = const(8000)  # listening: one turn in 8 s
_SYNC_MS = const(2000)
_CLAIM_PULSE_MS = const(2000)
_ERROR_PULSE_MS = const(4000)
_FAULT_BLINK_MS = const(2000)  # mic fault: 1 s on, 1 s off
_STORAGE_BLINK_MS = const(4000)  # storage nearly full: 1 s on in 4
_WRAP_S = const(300)  # wrap-up cue in the last five minutes
_HEAR_MS = const(6000)  # "can't hear well": one slow swell in 6 s

# Power: the board file's ring.channel_ma (what one colour channel draws at
# value 255) and ring.budget_ma (what all the ring's channels may draw);
# the sum of all channel values is held at or below
# budget_ma * 255 // channel_ma (2550 on the reference board: 200 mA at
# 20 mA per channel; under 2^15, which tbfw.boardfile checks).
_FAULT_FLOOR_PCT = const(20)  # faults stay visible at night or brightness 0

_WAVE_STEPS = const(64)
# Tables made on the host (tests/test_ring_tables.py checks them): building
# them here in floats left about 24 KB of garbage at boot on a 32-bit port.
# (v / 255) ** 2.2 * 65535, rounded, v = 0..255 (scaled to the board's cap
# it matches int(cap * (v / 255) ** 2.2 + 0.5) to 1 LSB), kept as its second
# differences, each 0..4, two to a byte (v even in the low nibble): the
# curve at v is the sum of its first differences up to v, each the sum of
# the second differences up to it. 128 bytes where the curve itself, as
# 16-bit words, took 512 for the whole session.
_GAMMA_D2 = (
    b"\x00\x02\x11\x12\x21\x11\x12\x12\x21\x12\x22\x21\x21\x12\x22\x21\x22\x12\x22\x12\x22\x22\x22\x21"
    b"\x13\x22\x22\x12\x23\x31\x12\x13\x23\x31\x12\x23\x22\x22\x13\x32\x31\x22\x22\x13\x23\x22\x22\x23"
    b"\x22\x32\x22\x22\x23\x22\x13\x33\x31\x22\x23\x22\x23\x32\x22\x32\x32\x31\x23\x22\x23\x32\x32\x22"
    b"\x23\x32\x22\x33\x31\x23\x32\x22\x33\x22\x23\x32\x23\x32\x32\x32\x22\x33\x22\x33\x22\x33\x41\x22"
    b"\x33\x22\x33\x32\x22\x14\x24\x32\x32\x23\x23\x33\x22\x33\x32\x23\x42\x22\x33\x32\x32\x23\x33\x32"
    b"\x32\x23\x33\x32\x32\x33\x32\x32"
)
# Raised cosine 0..255 over one period, for breathing and pulses:
# int(127.5 - 127.5 * cos(2 pi k / 64) + 0.5), k = 0..63.
_WAVE = (
    b"\x00\x01\x02\x05\x0a\x0f\x15\x1d\x25\x2f\x39\x43\x4f\x5a\x67\x73\x7f\x8c\x98\xa5\xb0\xbc\xc6\xd0"
    b"\xda\xe2\xea\xf0\xf5\xfa\xfd\xfe\xff\xfe\xfd\xfa\xf5\xf0\xea\xe2\xda\xd0\xc6\xbc\xb0\xa5\x98\x8c"
    b"\x80\x73\x67\x5a\x4f\x43\x39\x2f\x25\x1d\x15\x0f\x0a\x05\x02\x01"
)
_TICKS_PERIOD = const(1 << 30)  # MicroPython ticks_ms() wraps here
_TICKS_HALF = const(1 << 29)


class RingState:
    """What the ring shows; the app fills these attributes every frame.

    Azimuths are degrees (device frame, counter-clockwise from +x, 0..360),
    None or AZ_UNKNOWN (-1) while unknown. Shares are per mille of the
    initiator's talk time (0..1000), -1 while unknown (never in band).
    """

    def __init__(self):
        self.mode = MODE_IDLE
        self.initiator_az = None
        self.partner_az = None
        self.speaking = SPEAK_NONE
        self.share_pm = 0
        self.recent_share_pm = -1
        self.target_pm = 300
        self.band_pm = 50
        self.heat = 0
        self.elapsed_s = 0
        self.meeting_s = 2400
        self.storage_nearly_full = False
        self.mic_fault = False
        self.night = False
        self.brightness_pct = 50
        self.claim_pm = -1  # claim progress 0..1000, or -1 when not known
        self.hearing_low = False  # the session cannot be heard well enough to trust the share


def band_of(share_pm, target_pm, band_pm):
    """BAND_UNDER / BAND_IN / BAND_DRIFT / BAND_FAR for a share; "in band"
    is tally.in_band, the definition the record's in-band time uses."""
    if in_band(share_pm, target_pm, band_pm):
        return BAND_IN
    if share_pm < target_pm:
        return BAND_UNDER
    if share_pm <= target_pm + _FAR_BANDS * band_pm:
        return BAND_DRIFT
    return BAND_FAR


def _band_colour(band):
    if band == BAND_UNDER:
        return C_UNDER
    if band == BAND_IN:
        return C_IN_BAND
    if band == BAND_DRIFT:
        return C_DRIFT
    return C_FAR


def ticks_diff(a, b):
    """a - b for ticks_ms values, across the wrap (as time.ticks_diff)."""
    return ((a - b + _TICKS_HALF) & (_TICKS_PERIOD - 1)) - _TICKS_HALF


@micropython.viper
def _zero(buf, n: int):
    # buf: n bytes set to 0.
    p = ptr8(buf)
    i = 0
    while i < n:
        p[i] = 0
        i += 1


@micropython.viper
def _finish(lin, out, gamma, order, n: int, bright_q8: int, budget: int) -> int:
    # lin: 3n bytes, R G B per slot, perceptual level 0..255.
    # gamma: 256 bytes, perceptual level -> PWM value 0..cap (gamma 2.2).
    # order: n bytes, LED index of each slot. out: 3n bytes, G R B per LED.
    # bright_q8: light scale in Q8, 0..256 (256 = 100%).
    # budget: most allowed sum of all output values.
    # Returns the sum of the output values (<= budget).
    # Bounds (signed 32-bit): v * bright_q8 + 128 <= 255 * 256 + 128 < 2^17;
    # total <= 3 * 64 LEDs * 255 = 48,960 < 2^16; budget << 16 < 2^31 for
    # budget < 32,768 (tbfw.boardfile checks it; 2550 on the reference board); v * scale_q16 <= 255 * 65,536 < 2^24.
    src = ptr8(lin)
    dst = ptr8(out)
    g = ptr8(gamma)
    o = ptr8(order)
    total = 0
    s = 0
    while s < n:
        i = s * 3
        led = int(o[s]) * 3
        r = (int(g[src[i]]) * bright_q8 + 128) >> 8
        gr = (int(g[src[i + 1]]) * bright_q8 + 128) >> 8
        b = (int(g[src[i + 2]]) * bright_q8 + 128) >> 8
        dst[led] = gr
        dst[led + 1] = r
        dst[led + 2] = b
        total += r + gr + b
        s += 1
    if total > budget:
        scale_q16 = (budget << 16) // total
        total = 0
        i = 0
        while i < n * 3:
            v = (int(dst[i]) * scale_q16) >> 16
            dst[i] = v
            total += v
            i += 1
    return total


_OP_MAX = const(0)  # keep the brighter of old and new, per channel
_OP_ADD = const(1)  # add, saturating at 255
_OP_SET = const(2)  # replace


@micropython.viper
def _paint(lin, n: int, slot: int, rgb: int, level: int, op: int):
    # lin: 3n bytes, R G B per slot, perceptual 0..255. slot: any int, taken
    # modulo n. rgb: 0xRRGGBB. level: 0..256 (Q8, 256 = full). op: _OP_*.
    # Bounds: component * level <= 255 * 256 < 2^16; sums <= 510.
    if level <= 0 and op != _OP_SET:
        return
    if level < 0:
        level = 0
    p = ptr8(lin)
    while slot < 0:
        slot += n
    while slot >= n:
        slot -= n
    i = slot * 3
    shift = 16
    while shift >= 0:
        v = ((rgb >> shift) & 255) * level >> 8
        old = int(p[i])
        if op == _OP_ADD:
            v += old
            if v > 255:
                v = 255
        elif op == _OP_MAX and old > v:
            v = old
        p[i] = v
        i += 1
        shift -= 8


@micropython.viper
def _arc_k(lin, n: int, centre: int, half_q8: int, rgb: int, level: int):
    # Max-blend an arc into lin (3n bytes, RGB per slot): half-width half_q8
    # in 1/256 slots either side of slot `centre` (0..n-1); a slot is lit in
    # proportion to how much of it the arc covers. rgb: 0xRRGGBB; level:
    # 0..256. Bounds: half_q8 <= 64 * 128 = 8192; level * cov <= 2^16, so
    # each slot's level (level * cov >> 8) is 0..256, as _paint takes it.
    low = 0 - (n >> 1)
    k = low
    while k < low + n:
        d = k * 256
        if k < 0:
            d = 0 - d
        cov = half_q8 + 128 - d
        if cov > 0:
            if k == low and (n & 1) == 0:
                cov = cov * 2  # the cell opposite the centre is reached from both sides
            if cov > 256:
                cov = 256
            _paint(lin, n, centre + k, rgb, level * cov >> 8, _OP_MAX)
        k += 1


@micropython.viper
def _fill_dark_k(lin, n: int, rgb: int, level: int):
    # Set every slot of lin (3n bytes, RGB) that is still black to rgb at
    # level (0..256). Bounds: component * level <= 255 * 256 < 2^16.
    p = ptr8(lin)
    r = ((rgb >> 16) & 255) * level >> 8
    g = ((rgb >> 8) & 255) * level >> 8
    b = (rgb & 255) * level >> 8
    i = 0
    while i < n * 3:
        if int(p[i]) == 0 and int(p[i + 1]) == 0 and int(p[i + 2]) == 0:
            p[i] = r
            p[i + 1] = g
            p[i + 2] = b
        i += 3


class Ring:
    """The renderer for one ring. `ring_desc` is the board file's "ring"."""

    def __init__(self, ring_desc):
        n = ring_desc["count"]
        self.count = n
        self.cap = ring_desc["max_brightness"]
        self.ccw = ring_desc["direction"] == "ccw"
        self.led0_azimuth_deg = ring_desc["led0_azimuth_deg"]
        self.budget = ring_desc["budget_ma"] * 255 // ring_desc["channel_ma"]
        self._led0_dd = int(round(self.led0_azimuth_deg * 10)) % 3600
        self._lin = bytearray(3 * n)
        self._order = bytearray(n)
        for s in range(n):
            self._order[s] = s if self.ccw else (n - s) % n
        self._gamma = bytearray(256)  # level 0..255 -> PWM 0..cap, gamma 2.2
        cap = self.cap
        step = 0
        q16 = 0  # the curve at v, 0..65535 (cap * q16 < 2^24: a small int)
        for v in range(256):
            step += (_GAMMA_D2[v >> 1] >> (v & 1) * 4) & 15
            q16 += step
            self._gamma[v] = (cap * q16 + 32767) // 65535
        self._wave = _WAVE
        # Per-frame layout, in slots (see _layout); preset so no attribute
        # is created during a frame.
        self.centre = 0
        self.partner = -1
        self.initiator = -1
        self.last_sum = 0

    # Geometry (also used by the host and the tests).

    def slot_q8(self, az):
        """Ring position of an azimuth in 1/256 slot units, 0..256*count."""
        dd = (int(az * 10) - self._led0_dd) % 3600
        return dd * self.count * 256 // 3600

    def slot_of(self, az):
        """The slot nearest an azimuth in degrees, or -1 when unknown."""
        if az is None or az == AZ_UNKNOWN:
            return -1
        n = self.count  # slot_q8(int(az)), written out: asked at every frame drawn
        return (((int(az) * 10 - self._led0_dd) % 3600 * n * 256 // 3600 + 128) >> 8) % n

    def led_of(self, az):
        """The LED index nearest an azimuth in degrees, or -1 when unknown."""
        s = self.slot_of(az)
        return -1 if s < 0 else self._order[s]

    def led_of_slot(self, slot):
        return self._order[slot % self.count]

    def led_azimuth(self, led):
        """Azimuth of an LED in degrees, 0..360."""
        step = 360 / self.count
        off = led * step if self.ccw else -led * step
        return (self.led0_azimuth_deg + off) % 360

    def end_offset(self, share_pm):
        """Slots from the arc's centre to its last lit LED, for a share.

        The arc is share_pm / 1000 of the ring, centred on a slot; an LED is
        lit when the arc covers any of it. Target ticks use the same rule,
        so a share equal to the target ends on the ticks.
        """
        half_q8 = self._half_q8(share_pm)
        return (half_q8 + 127) >> 8

    def _half_q8(self, share_pm):
        if share_pm < 0:
            share_pm = 0
        elif share_pm > 1000:
            share_pm = 1000
        return share_pm * self.count * 128 // 1000

    # Drawing into the slot buffer (perceptual RGB, max blend).

    def _put(self, slot, rgb, level):
        _paint(self._lin, self.count, slot, rgb, level, _OP_MAX)

    def _set(self, slot, rgb, level):
        _paint(self._lin, self.count, slot, rgb, level, _OP_SET)

    def _dot_q8(self, pos_q8, rgb, level):
        """A dot at a fractional slot position, shared by its two LEDs."""
        n = self.count
        pos_q8 %= n * 256
        a = pos_q8 >> 8
        frac = pos_q8 & 255
        _paint(self._lin, n, a, rgb, level * (256 - frac) >> 8, _OP_MAX)
        _paint(self._lin, n, a + 1, rgb, level * frac >> 8, _OP_MAX)

    def _wave_at(self, now_ms, period_ms):
        """Raised cosine 0..255 at this time, interpolated from the table."""
        pos = (now_ms % period_ms) * _WAVE_STEPS * 256 // period_ms
        k = pos >> 8
        frac = pos & 255
        a = self._wave[k]
        b = self._wave[(k + 1) % _WAVE_STEPS]
        return a + ((b - a) * frac >> 8)

    # Layers.

    def _layout(self, state):
        n = self.count
        ini = self.slot_of(state.initiator_az)
        par = self.slot_of(state.partner_az)
        self.initiator = ini
        self.partner = par
        if ini >= 0:
            self.centre = ini
        elif par >= 0:
            self.centre = (par + (n >> 1)) % n
        else:
            self.centre = 0

    def _markers(self, state, talking):
        # (_paint called directly, not through _put and _set: drawn at most frames)
        lin = self._lin
        n = self.count
        ini = self.initiator
        par = self.partner
        speak_i = talking and state.speaking & SPEAK_INITIATOR
        speak_p = talking and state.speaking & SPEAK_PARTNER
        if speak_i and ini >= 0:
            _paint(lin, n, ini - 1, C_INITIATOR, _L_TALK_GLOW, _OP_MAX)
            _paint(lin, n, ini + 1, C_INITIATOR, _L_TALK_GLOW, _OP_MAX)
        if speak_p and par >= 0:
            _paint(lin, n, par - 1, C_PARTNER, _L_TALK_GLOW, _OP_MAX)
            _paint(lin, n, par + 1, C_PARTNER, _L_TALK_GLOW, _OP_MAX)
        if ini >= 0:
            if speak_i:
                _paint(lin, n, ini, C_INITIATOR_TALK, _L_MARK_TALK, _OP_SET)
            else:
                _paint(lin, n, ini, C_INITIATOR, _L_MARK, _OP_SET)
        if par >= 0:
            if speak_p:
                _paint(lin, n, par, C_PARTNER_TALK, _L_MARK_TALK, _OP_SET)
            else:
                _paint(lin, n, par, C_PARTNER, _L_MARK, _OP_SET)

    def _gauge(self, state, level):
        c = self.centre
        share = state.share_pm
        band = band_of(share, state.target_pm, state.band_pm)
        lin = self._lin
        n = self.count
        _arc_k(lin, n, c, self._half_q8(share), _band_colour(band), level)
        t = self.end_offset(state.target_pm)
        # added (saturating): the ticks show on top of the arc
        _paint(lin, n, c - t, C_NEUTRAL, _L_TICK, _OP_ADD)
        _paint(lin, n, c + t, C_NEUTRAL, _L_TICK, _OP_ADD)

    def _trend(self, state):
        recent = state.recent_share_pm
        if recent < 0:
            return
        c = self.centre
        colour = _band_colour(band_of(recent, state.target_pm, state.band_pm))
        r = self.end_offset(recent)
        _paint(self._lin, self.count, c - r, colour, _L_TREND, _OP_MAX)
        _paint(self._lin, self.count, c + r, colour, _L_TREND, _OP_MAX)

    def _pacing(self, state):
        n = self.count
        meeting = state.meeting_s
        if meeting <= 0:
            return
        elapsed = int(state.elapsed_s)
        if elapsed < 0:
            elapsed = 0
        over = elapsed >= meeting
        if over:
            elapsed = meeting
        # From the point opposite the initiator, clockwise seen from above
        # (decreasing azimuth), one full turn at the meeting mark.
        pos = self.centre * 256 + n * 128 - elapsed * n * 256 // meeting
        if meeting - elapsed <= _WRAP_S:
            self._dot_q8(pos, C_DRIFT, _L_WRAP)
            self._dot_q8(pos - 256, C_DRIFT, _L_WRAP_GLOW)
            self._dot_q8(pos + 256, C_DRIFT, _L_WRAP_GLOW)
        else:
            self._dot_q8(pos, C_NEUTRAL, _L_PACE)
        return over

    def _session(self, state, now_ms):
        if state.hearing_low:
            # can't hear well: the share dimmed, no recent dots, and two
            # warm-white marks at the sides swelling slowly (neither person's
            # seat: it is the room, not them)
            self._gauge(state, _L_ARC_HEARING_LOW)
            level = _L_HEAR_LOW + (_L_HEAR_SWING * self._wave_at(now_ms, _HEAR_MS) >> 8)
            quarter = self.count >> 2
            self._set(self.centre + quarter, C_NEUTRAL, level)
            self._set(self.centre - quarter, C_NEUTRAL, level)
        else:
            self._gauge(state, _L_ARC)
            self._trend(state)
        over = self._pacing(state)
        self._markers(state, True)
        heat = state.heat
        if heat > 0:
            if heat > 3:
                heat = 3
            peak = 100 + 40 * heat
            _fill_dark_k(self._lin, self.count, C_INITIATOR, peak * self._wave_at(now_ms, _BREATH_MS) >> 8)
        elif over:
            _fill_dark_k(self._lin, self.count, C_NEUTRAL, _L_OVERTIME)

    def _ended(self, state):
        self._gauge(state, _L_ARC_ENDED)
        self._markers(state, False)

    def _idle(self):
        n = self.count
        for k in range(4):
            self._put(k * n // 4 + n // 8, C_NEUTRAL, _L_IDLE)

    def _listening(self, state, now_ms):
        n = self.count
        head = n - 1 - (now_ms % _COMET_MS) * n // _COMET_MS
        self._put(head, C_UNDER, _L_COMET)
        self._put(head + 1, C_UNDER, _L_COMET >> 1)
        self._put(head + 2, C_UNDER, _L_COMET >> 2)
        self._markers(state, True)

    def _claim(self, state, now_ms):
        progress = state.claim_pm
        if progress >= 0:
            _arc_k(self._lin, self.count, self.centre, self._half_q8(progress), C_INITIATOR, _L_CLAIM)
        else:
            level = 80 + (140 * self._wave_at(now_ms, _CLAIM_PULSE_MS) >> 8)
            _fill_dark_k(self._lin, self.count, C_INITIATOR, level)  # the whole ring
        self._set(self.centre, C_INITIATOR_TALK, _L_MARK_TALK)

    def _syncing(self, now_ms):
        n = self.count
        head = (now_ms % _SYNC_MS) * n // _SYNC_MS
        for k in range(2):
            s = head + k * (n >> 1)
            self._put(s, C_INITIATOR, _L_CLAIM)
            self._put(s - 1, C_INITIATOR, _L_CLAIM >> 2)

    def _error(self, now_ms):
        level = 60 + (140 * self._wave_at(now_ms, _ERROR_PULSE_MS) >> 8)
        _fill_dark_k(self._lin, self.count, C_FAULT, level)  # the whole ring

    def _overlays(self, state, now_ms, faults_only):
        n = self.count
        if state.storage_nearly_full and not faults_only and now_ms % _STORAGE_BLINK_MS < 1000:
            self._set(n >> 2, C_STORAGE, _L_FAULT)
            self._set((3 * n) >> 2, C_STORAGE, _L_FAULT)
        if state.mic_fault and now_ms % _FAULT_BLINK_MS < (_FAULT_BLINK_MS >> 1):
            self._set(0, C_FAULT, _L_FAULT)
            self._set(n >> 1, C_FAULT, _L_FAULT)

    def render(self, state, now_ms, out):
        """Write this frame's GRB bytes (3 * count) into `out`; returns the
        sum of the channel values written (at most self.budget)."""
        n = self.count
        _zero(self._lin, 3 * n)
        self._layout(state)
        mode = state.mode
        bright = state.brightness_pct
        faults_only = state.night or bright <= 0
        if mode == MODE_ERROR:
            self._error(now_ms)
            if faults_only:
                bright = _FAULT_FLOOR_PCT if bright < _FAULT_FLOOR_PCT else bright
        elif faults_only:
            if state.mic_fault:
                bright = _FAULT_FLOOR_PCT if bright < _FAULT_FLOOR_PCT else bright
        elif mode == MODE_SESSION:
            self._session(state, now_ms)
        elif mode == MODE_LISTENING:
            self._listening(state, now_ms)
        elif mode == MODE_CLAIM:
            self._claim(state, now_ms)
        elif mode == MODE_ENDED:
            self._ended(state)
        elif mode == MODE_SYNCING:
            self._syncing(now_ms)
        else:
            self._idle()
        if mode != MODE_ERROR and (state.storage_nearly_full or state.mic_fault):
            self._overlays(state, now_ms, faults_only)
        if bright > 100:
            bright = 100
        elif bright < 0:
            bright = 0
        total = _finish(self._lin, out, self._gamma, self._order, n, (bright * 256 + 50) // 100, self.budget)
        self.last_sum = total
        return total


class RingDriver:
    """Renders and writes the ring from the app loop at a steady frame rate.

    `write` sends 3 * count GRB bytes to the LEDs (the board's ring_write,
    which copies them into the NeoPixel buffer and writes it: ~0.5 ms for 16
    LEDs). `update` does nothing until the next frame is due, so calling it
    every audio frame costs one comparison; at the default 40 ms period the
    ring runs at 25 frames a second. A frame that would be the one already
    in `buf` (a still picture from an unchanged state) is written again
    without being drawn.
    """

    def __init__(self, ring, write, period_ms=FRAME_MS):
        self.ring = ring
        self.write = write
        self.period_ms = period_ms
        self.buf = bytearray(3 * ring.count)
        self.frames = 0
        self._due = 0
        self._started = False
        self._key = [-1] * 12  # what the still picture in buf was drawn from (_still); mode -1: none

    def _still(self, state):
        """True when `state` draws the frame already in buf: a picture that
        does not move with time (a session without heat or the can't-hear
        swell, the ended summary, idle; no blinking overlay) from the same
        state attributes as the last frame drawn (those such a picture is
        drawn from). Keeps them for the next frame."""
        mode = state.mode
        key = self._key
        if not (mode == MODE_SESSION or mode == MODE_ENDED or mode == MODE_IDLE) or (
                state.heat or state.hearing_low or state.storage_nearly_full or state.mic_fault):
            key[0] = -1  # it moves, drawn at every frame: none still in buf
            return False
        # the attributes that change most often first (key[0], mode, is -1
        # when no still picture is in buf)
        if (key[3] == state.speaking and key[4] == state.share_pm and key[8] == state.elapsed_s and key[0] == mode
                and key[5] == state.recent_share_pm and key[1] == state.initiator_az and key[2] == state.partner_az
                and key[6] == state.target_pm and key[7] == state.band_pm and key[9] == state.meeting_s
                and key[10] == state.night and key[11] == state.brightness_pct):
            return True
        i = 0
        for name in ("mode", "initiator_az", "partner_az", "speaking", "share_pm", "recent_share_pm",
                     "target_pm", "band_pm", "elapsed_s", "meeting_s", "night", "brightness_pct"):
            key[i] = getattr(state, name)
            i += 1
        return False

    def due(self, now_ms):
        """True when update() at ticks_ms value `now_ms` draws a frame: the
        caller fills the state only for the frames that are drawn."""
        # ticks_diff(now_ms, self._due) >= 0, written out: asked every audio frame
        return not self._started or (now_ms - self._due + _TICKS_HALF) & (_TICKS_PERIOD - 1) >= _TICKS_HALF

    def update(self, state, now_ms):
        """Draw a frame if one is due at ticks_ms value `now_ms`."""
        # the tick differences written out as in due()
        started = self._started
        due = self._due
        if started and (now_ms - due + _TICKS_HALF) & (_TICKS_PERIOD - 1) < _TICKS_HALF:  # not due()
            return False
        if not self._still(state):
            self.ring.render(state, now_ms, self.buf)
        self.write(self.buf)
        self.frames += 1
        period = self.period_ms
        due = due + period if started else now_ms + period
        if (now_ms - due + _TICKS_HALF) & (_TICKS_PERIOD - 1) >= _TICKS_HALF:  # fell behind: restart the cadence
            due = now_ms + period
        self._due = due & (_TICKS_PERIOD - 1)
        self._started = True
        return True


def from_board(desc):
    """A Ring for a validated board description."""
    return Ring(desc["ring"])
