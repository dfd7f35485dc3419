# LED ring renderer under MicroPython: geometry, gauge, limits, allocation.
import gc

from fwlib import board as _board
from tbfw import ring

SIZES = (12, 16, 24)
LAYOUTS = ((0.0, "ccw"), (0.0, "cw"), (7.5, "ccw"), (-90.0, "cw"), (200.0, "ccw"), (33.3, "cw"))


def _desc(count=16, led0=0.0, direction="ccw", cap=64):
    desc = _board()["ring"]
    desc["count"] = count
    desc["led0_azimuth_deg"] = led0
    desc["direction"] = direction
    desc["max_brightness"] = cap
    return desc


def _session(share=300, ini=270, par=90, speaking=0):
    st = ring.RingState()
    st.mode = ring.MODE_SESSION
    st.initiator_az = ini
    st.partner_az = par
    st.share_pm = share
    st.speaking = speaking
    return st


def _pixel(out, led):
    return (out[3 * led + 1], out[3 * led], out[3 * led + 2])  # (r, g, b) from GRB


def _nearest_leds(count, led0, direction, az):
    """Every LED within a hair of the smallest angular distance to az."""
    step = 360 / count
    dists = []
    for led in range(count):
        led_az = led0 + (led * step if direction == "ccw" else -led * step)
        d = abs((az - led_az) % 360)
        dists.append(min(d, 360 - d))
    best = min(dists)
    return [led for led in range(count) if dists[led] - best < 1e-6]


def _expected(r, rgb, level, bright_pct):
    """The GRB bytes the renderer writes for one colour at one level."""
    bq8 = (bright_pct * 256 + 50) // 100
    out = []
    for shift in (8, 16, 0):  # G, R, B
        v = ((rgb >> shift) & 255) * level >> 8
        out.append((r._gamma[v] * bq8 + 128) >> 8)
    return tuple(out)


def _leds_with(out, grb):
    return [led for led in range(len(out) // 3) if tuple(out[3 * led:3 * led + 3]) == grb]


def test_markers_land_on_nearest_led_for_every_size_offset_and_direction():
    checked = 0
    for count in SIZES:
        for led0, direction in LAYOUTS:
            r = ring.Ring(_desc(count, led0, direction, cap=255))
            r.budget = 30000  # geometry only: no power scaling of the colours
            out = bytearray(3 * count)
            talk = _expected(r, ring.C_INITIATOR_TALK, 256, 100)
            rest = _expected(r, ring.C_PARTNER, 150, 100)
            for az in range(0, 360, 11):
                par = (az + 167) % 360
                st = _session(300, az, par, ring.SPEAK_INITIATOR)
                st.brightness_pct = 100
                r.render(st, 0, out)
                want_i = _nearest_leds(count, led0, direction, az)
                want_p = _nearest_leds(count, led0, direction, par)
                got_i = _leds_with(out, talk)
                got_p = _leds_with(out, rest)
                assert len(got_i) == 1 and got_i[0] in want_i, (count, led0, direction, az, got_i, want_i)
                assert len(got_p) == 1 and got_p[0] in want_p, (count, led0, direction, par, got_p, want_p)
                assert r.led_of(az) == got_i[0]
                checked += 1
    assert checked == len(SIZES) * len(LAYOUTS) * len(range(0, 360, 11))


def test_unknown_talkers_get_no_marker():
    r = ring.Ring(_desc(16, cap=255))
    out = bytearray(48)
    for unknown in (None, ring.AZ_UNKNOWN):
        st = _session(300, unknown, unknown, ring.SPEAK_BOTH)
        st.brightness_pct = 100
        r.render(st, 0, out)
        assert not _leds_with(out, _expected(r, ring.C_INITIATOR_TALK, 256, 100))
        assert not _leds_with(out, _expected(r, ring.C_PARTNER_TALK, 256, 100))
        assert r.slot_of(unknown) == -1 and r.led_of(unknown) == -1


def test_share_at_target_ends_the_gauge_on_the_target_mark():
    for count in SIZES:
        for led0, direction in LAYOUTS:
            r = ring.Ring(_desc(count, led0, direction))
            out = bytearray(3 * count)
            for target in (200, 250, 300, 350, 400):
                st = _session(target, 270, 90)
                st.target_pm = target
                st.elapsed_s = 0
                end = r.end_offset(target)
                centre = r.slot_of(270)
                assert end >= 1, (count, target)
                # Ticks alone (share 0): the mark sits `end` slots either side.
                st.share_pm = 0
                r.render(st, 0, out)
                marks = [r.led_of_slot(centre - end), r.led_of_slot(centre + end)]
                ticks = [_pixel(out, led) for led in marks]
                assert all(sum(p) > 0 for p in ticks), (count, target, ticks)
                # Share on target: the arc reaches each mark and stops there.
                st.share_pm = target
                r.render(st, 0, out)
                for k, led in enumerate(marks):
                    assert _pixel(out, led) != ticks[k], (count, target, led)
                    assert _pixel(out, led)[1] > 0  # the in-band arc is bluish green
                for beyond in (centre - end - 1, centre + end + 1):
                    assert _pixel(out, r.led_of_slot(beyond)) == (0, 0, 0), (count, target, beyond)
                # A share one and a half LEDs wider takes the arc past the marks.
                st.share_pm = target + 3000 // count
                r.render(st, 0, out)
                assert sum(_pixel(out, r.led_of_slot(centre + end + 1))) > 0


def test_arc_width_follows_share_and_colour_follows_band():
    r = ring.Ring(_desc(24, cap=255))
    out = bytearray(72)
    lit = []
    for share in (0, 100, 300, 500, 700, 1000):
        st = _session(share, 270, None)
        st.target_pm = 0  # no ticks: count the arc alone
        st.meeting_s = 0  # no pacing dot
        st.brightness_pct = 100
        r.render(st, 0, out)
        lit.append(sum(1 for led in range(24) if sum(_pixel(out, led)) > 0))
    assert lit == sorted(lit) and lit[0] == 1 and lit[-1] == 24, lit
    assert ring.band_of(240, 300, 50) == ring.BAND_UNDER
    assert ring.band_of(250, 300, 50) == ring.BAND_IN and ring.band_of(350, 300, 50) == ring.BAND_IN
    assert ring.band_of(351, 300, 50) == ring.BAND_DRIFT and ring.band_of(450, 300, 50) == ring.BAND_DRIFT
    assert ring.band_of(451, 300, 50) == ring.BAND_FAR
    # The arc's LED next to the initiator shows the band's colour.
    for share, rgb in ((150, ring.C_UNDER), (300, ring.C_IN_BAND), (400, ring.C_DRIFT), (600, ring.C_FAR)):
        st = _session(share, 270, 90)
        st.brightness_pct = 100
        r.render(st, 0, out)
        led = r.led_of_slot(r.slot_of(270) + 1)
        assert tuple(out[3 * led:3 * led + 3]) == _expected(r, rgb, 180, 100), (share, _pixel(out, led))


def _every_state():
    """(label, state) for every mode and flag combination worth checking."""
    for mode in range(len(ring.MODE_NAMES)):
        for flags in range(8):
            st = ring.RingState()
            st.mode = mode
            st.initiator_az = 250
            st.partner_az = 80
            st.share_pm = (mode * 170 + flags * 90) % 1001
            st.recent_share_pm = 600 if flags & 1 else -1
            st.speaking = flags & 3
            st.heat = flags >> 1
            st.elapsed_s = 2300 if flags & 2 else 600
            st.claim_pm = 700 if flags & 4 else -1
            st.storage_nearly_full = bool(flags & 4)
            st.mic_fault = bool(flags & 2)
            st.night = flags == 7
            st.brightness_pct = 100 if flags & 1 else 40
            yield (ring.MODE_NAMES[mode], flags), st


def test_brightness_cap_and_power_budget_hold_for_every_state():
    ring_desc = _board()["ring"]  # the budget is the board file's: 200 mA at 20 mA a channel
    assert (ring_desc["budget_ma"], ring_desc["channel_ma"]) == (200, 20)
    budget_used = 0
    for count in SIZES:
        for cap in (64, 160, 255):
            r = ring.Ring(_desc(count, 15.0, "cw", cap))
            out = bytearray(3 * count)
            for label, st in _every_state():
                for now_ms in range(0, 10000, 730):
                    total = r.render(st, now_ms, out)
                    assert max(out) <= cap, (count, cap, label, now_ms)
                    assert total == sum(out) and total <= 2550, (count, cap, label, total)
                    if total > 2400:
                        budget_used += 1
    assert budget_used > 0  # bright full-ring states did reach the budget


def test_budget_scales_down_evenly():
    r = ring.Ring(_desc(24, cap=255))
    out = bytearray(72)
    st = ring.RingState()
    st.mode = ring.MODE_CLAIM
    st.claim_pm = 1000
    st.brightness_pct = 100
    r.budget = 30000
    unlimited = r.render(st, 0, out)
    before = bytes(out)
    r.budget = 2550
    limited = r.render(st, 0, out)
    assert unlimited > 2550 >= limited > 2550 * 9 // 10
    scale_q16 = (2550 << 16) // unlimited  # one factor for every channel
    for a, b in zip(before, out):
        assert b == a * scale_q16 >> 16, (a, b)


def test_night_and_brightness_zero_show_only_faults():
    r = ring.Ring(_desc(16))
    out = bytearray(48)
    st = _session(400)
    st.heat = 2
    st.storage_nearly_full = True
    for night, bright in ((True, 60), (False, 0)):
        st.night = night
        st.brightness_pct = bright
        st.mic_fault = False
        for now_ms in range(0, 10000, 250):
            r.render(st, now_ms, out)
            assert max(out) == 0, (night, bright, now_ms)
        st.mic_fault = True
        r.render(st, 0, out)  # fault blink is on for the first second
        lit = [led for led in range(16) if sum(_pixel(out, led)) > 0]
        assert lit == sorted([r.led_of_slot(0), r.led_of_slot(8)]), lit
        assert _pixel(out, lit[0])[0] > 0  # visible even at brightness 0
        r.render(st, 1500, out)
        assert max(out) == 0
    st.mode = ring.MODE_ERROR
    r.render(st, 2000, out)
    assert min(sum(_pixel(out, led)) for led in range(16)) > 0


def test_breathing_cue_six_breaths_a_minute_while_heat():
    r = ring.Ring(_desc(16, cap=255))
    out = bytearray(48)
    st = _session(300, 270, 90)
    st.brightness_pct = 100
    dark = r.led_of_slot(r.slot_of(270) + 8 - 3)  # far from arc, markers and the pacing dot
    st.elapsed_s = 0
    levels = []
    for now_ms in range(0, 20000, 500):
        st.heat = 0
        r.render(st, now_ms, out)
        assert sum(_pixel(out, dark)) == 0
        st.heat = 1
        r.render(st, now_ms, out)
        levels.append(sum(_pixel(out, dark)))
    assert levels[:20] == levels[20:]  # period 10 s
    assert levels[0] == 0 and levels[10] == max(levels) > 0  # out at 0 s, in at 5 s
    assert levels[5] < levels[10] and levels[15] < levels[10]
    st.heat = 3
    r.render(st, 5000, out)
    assert sum(_pixel(out, dark)) > levels[10]  # deeper breaths with more heat


def test_speaking_marker_is_brighter():
    r = ring.Ring(_desc(16))
    out = bytearray(48)
    light = []
    for speaking in (ring.SPEAK_NONE, ring.SPEAK_PARTNER, ring.SPEAK_INITIATOR):
        st = _session(300, 270, 90, speaking)
        r.render(st, 0, out)
        light.append((sum(_pixel(out, r.led_of(90))), sum(_pixel(out, r.led_of(270)))))
    assert light[1][0] > 2 * light[0][0] and light[1][1] == light[0][1]  # partner speaks
    assert light[2][1] > 2 * light[0][1] and light[2][0] == light[0][0]  # initiator speaks


def test_pacing_dot_walks_clockwise_and_wraps_up():
    r = ring.Ring(_desc(16, cap=255))
    out = bytearray(48)
    st = _session(0, 0, None)  # initiator at LED 0; dot starts opposite
    st.target_pm = 0
    st.brightness_pct = 100
    positions = []
    for minute in (0, 10, 20, 30):
        st.elapsed_s = minute * 60
        r.render(st, 0, out)
        lit = [led for led in range(16) if led != 0 and sum(_pixel(out, led)) > 0]
        positions.append(lit)
    # 0 min: opposite the initiator; 10 min: a quarter turn clockwise seen
    # from above (decreasing azimuth); 20 min: on the initiator's own LED.
    assert positions == [[8], [4], [], [12]], positions
    st.elapsed_s = 38 * 60
    r.render(st, 0, out)
    wrap = [led for led in range(16) if led != 0 and sum(_pixel(out, led)) > 0]
    assert len(wrap) >= 3  # wider, yellow
    led = wrap[len(wrap) // 2]
    rr, gg, bb = _pixel(out, led)
    assert rr > bb and gg > bb
    st.elapsed_s = 50 * 60
    r.render(st, 0, out)
    assert min(sum(_pixel(out, led)) for led in range(16)) > 0  # faint glow past the mark


def test_warm_accents_stay_on_the_initiators_side():
    r = ring.Ring(_desc(24, cap=255))
    out = bytearray(72)
    for share in range(0, 501, 25):
        for recent in (-1, 0, 500):
            st = _session(share, 270, 90, ring.SPEAK_PARTNER)
            st.recent_share_pm = recent
            st.brightness_pct = 100
            r.render(st, 0, out)
            for k in range(-4, 5):  # 60 degrees either side of the partner
                led = r.led_of_slot(r.slot_of(90) + k)
                if k == 0:
                    continue
                rr, gg, bb = _pixel(out, led)
                assert not (rr > 0 and rr >= 2 * bb and gg < rr), (share, recent, k, (rr, gg, bb))


def test_no_red_outside_device_faults():
    r = ring.Ring(_desc(16, cap=255))
    out = bytearray(48)
    for label, st in _every_state():
        if st.mode == ring.MODE_ERROR or st.mic_fault:
            continue
        for now_ms in (0, 2500, 5000):
            r.render(st, now_ms, out)
            for led in range(16):
                rr, gg, bb = _pixel(out, led)
                assert not (rr > 4 * gg and rr > 4 * bb), (label, led, (rr, gg, bb))


def test_every_mode_draws_something_distinct():
    r = ring.Ring(_desc(16))
    out = bytearray(48)
    frames = []
    for mode in range(len(ring.MODE_NAMES)):
        st = _session(330, 270, 90)
        st.mode = mode
        st.claim_pm = 500
        r.render(st, 700, out)
        assert max(out) > 0, ring.MODE_NAMES[mode]
        frames.append(bytes(out))
    assert len(set(frames)) == len(frames)


def test_animations_move():
    r = ring.Ring(_desc(16))
    out = bytearray(48)
    for mode, period in ((ring.MODE_LISTENING, 8000), (ring.MODE_SYNCING, 2000), (ring.MODE_ERROR, 4000)):
        st = ring.RingState()
        st.mode = mode
        seen = set()
        for now_ms in range(0, period, period // 8):
            r.render(st, now_ms, out)
            seen.add(bytes(out))
        r.render(st, period + 100, out)
        again = bytes(out)
        r.render(st, 100, out)
        assert len(seen) >= 4 and again == bytes(out), ring.MODE_NAMES[mode]


def test_render_is_pure():
    r = ring.Ring(_desc(24))
    a = bytearray(72)
    b = bytearray(72)
    states = [st for _label, st in _every_state()]
    for st in states:
        r.render(st, 4321, a)
    for st in states:
        r.render(states[-1], 999, b)
        r.render(st, 4321, b)
    r.render(states[-1], 4321, a)
    r.render(states[-1], 4321, b)
    assert a == b


def test_no_allocation_per_frame():
    for count in SIZES:
        r = ring.Ring(_desc(count))
        out = bytearray(3 * count)
        for label, st in _every_state():
            st.initiator_az = 123.7  # a float azimuth, as a talker model might give
            r.render(st, 0, out)  # first call may fill caches
            gc.collect()
            before = gc.mem_alloc()
            for i in range(1000):
                r.render(st, i * 40, out)
            grown = gc.mem_alloc() - before
            assert grown == 0, (count, label, grown)


class _Leds:
    """Stands in for the board's ring_write: keeps what it was sent."""

    def __init__(self, n):
        self.buf = bytearray(3 * n)
        self.writes = 0

    def write(self, grb):
        assert len(grb) == len(self.buf)
        for i in range(len(grb)):
            self.buf[i] = grb[i]
        self.writes += 1


def test_driver_writes_25_frames_a_second_across_the_tick_wrap():
    r = ring.Ring(_desc(16))
    leds = _Leds(16)
    drv = ring.RingDriver(r, leds.write, 40)
    st = _session(300)
    start = (1 << 30) - 500  # ticks_ms wraps half a second in
    for k in range(100):  # 2 s of 20 ms audio frames
        now = (start + 20 * k) & ((1 << 30) - 1)
        due = drv.due(now)  # what the app asks before filling the state
        assert drv.update(st, now) == due and due == (k % 2 == 0)
    assert leds.writes == 50 and drv.frames == 50
    assert max(leds.buf) > 0
    assert ring.ticks_diff(5, (1 << 30) - 5) == 10
    # A stall (e.g. a flash write) restarts the cadence instead of bursting.
    now = 100000
    drv.update(st, now)
    drv.update(st, now + 500)
    assert not drv.update(st, now + 520) and drv.update(st, now + 540)


def test_cant_hear_well_dims_the_share_and_swells_two_side_marks():
    r = ring.Ring(_desc(16, cap=255))
    out = bytearray(48)
    st = _session(300, 270, 90)
    st.brightness_pct = 100
    st.recent_share_pm = 450
    ini = r.led_of_slot(r.slot_of(270))
    sides = (r.led_of_slot(r.slot_of(270) + 4), r.led_of_slot(r.slot_of(270) - 4))  # a quarter round
    st.elapsed_s = 0
    r.render(st, 3000, out)
    clear = bytes(out)
    arc_clear = sum(_pixel(out, r.led_of_slot(r.slot_of(270) + 1)))
    st.hearing_low = True
    levels = []
    for now_ms in range(0, 12000, 500):
        r.render(st, now_ms, out)
        levels.append(sum(_pixel(out, sides[0])))
        assert _pixel(out, sides[0]) == _pixel(out, sides[1])  # both sides alike
        assert out[3 * ini:3 * ini + 3] == clear[3 * ini:3 * ini + 3]  # the seats stay
        assert max(_pixel(out, sides[0])) == _pixel(out, sides[0])[0]  # warm: red leads, no blue cast
    assert levels[:12] == levels[12:]  # one swell in 6 s
    assert min(levels) > 0 and levels[6] == max(levels) > levels[0]
    r.render(st, 3000, out)
    assert bytes(out) != clear
    assert 0 < sum(_pixel(out, r.led_of_slot(r.slot_of(270) + 1))) < arc_clear  # the share, dimmed
    st.mode = ring.MODE_LISTENING  # only a session's share can be doubted
    r.render(st, 3000, out)
    st.hearing_low = False
    again = bytearray(48)
    r.render(st, 3000, again)
    assert out == again


class _Lcg:
    def __init__(self, seed):
        self.s = seed

    def below(self, n):
        self.s = (self.s * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.s >> 8) % n


def _walk_state(st, rnd):
    """Change a few of the state's attributes, as the app and the session do:
    mostly small steps of a session, now and then another mode or a flag."""
    for _ in range(rnd.below(3)):
        k = rnd.below(20)
        if k == 0:
            st.mode = (ring.MODE_SESSION, ring.MODE_ENDED, ring.MODE_IDLE, ring.MODE_LISTENING,
                       ring.MODE_CLAIM, ring.MODE_SYNCING, ring.MODE_ERROR)[rnd.below(7)]
        elif k == 1:
            st.initiator_az = (None, -1, rnd.below(360))[rnd.below(3)]
        elif k == 2:
            st.partner_az = (None, -1, rnd.below(360))[rnd.below(3)]
        elif k in (3, 4):
            st.speaking = rnd.below(4)
        elif k in (5, 6, 7):
            st.share_pm = max(-1, min(1000, st.share_pm + rnd.below(7) - 3))
        elif k == 8:
            st.recent_share_pm = rnd.below(1001) if rnd.below(4) else -1
        elif k == 9:
            st.target_pm = 200 + 10 * rnd.below(20)
        elif k == 10:
            st.band_pm = 20 + 10 * rnd.below(5)
        elif k in (11, 12):
            st.elapsed_s += 1
        elif k == 13:
            st.meeting_s = (0, 600, 2400)[rnd.below(3)]
        elif k == 14:
            st.heat = 0 if rnd.below(3) else 1 + rnd.below(3)
        elif k == 15:
            st.hearing_low = rnd.below(4) == 0
        elif k == 16:
            st.storage_nearly_full = rnd.below(5) == 0
            st.mic_fault = rnd.below(5) == 0
        elif k == 17:
            st.night = rnd.below(6) == 0
            st.brightness_pct = (0, 20, 50, 100)[rnd.below(4)]
        elif k == 18:
            st.claim_pm = rnd.below(1001) if rnd.below(2) else -1
        else:
            st.elapsed_s = (st.elapsed_s + 300) % 3000


def test_driver_frames_are_the_renders_of_their_state():
    # What the driver writes at each frame is what a fresh render of that
    # frame's state and time gives, whether it drew the frame or found it
    # already in its buffer (a still picture from an unchanged state).
    for count, led0, direction in ((16, 0.0, "ccw"), (24, 7.5, "cw")):
        desc = _desc(count, led0, direction, 255)
        leds = _Leds(count)
        drv = ring.RingDriver(ring.Ring(desc), leds.write, 40)
        fresh = ring.Ring(desc)
        drawn = [0]
        render = drv.ring.render

        def counted(state, now_ms, out):
            drawn[0] += 1
            return render(state, now_ms, out)

        drv.ring.render = counted
        st = _session(300, 270, 90)
        st.recent_share_pm = 350
        rnd = _Lcg(count)
        out = bytearray(3 * count)
        for k in range(6000):
            now = 40 * k
            if rnd.below(3) == 0:
                _walk_state(st, rnd)
            assert drv.update(st, now)
            fresh.render(st, now, out)
            assert leds.buf == out, (k, count)
        assert leds.writes == 6000
        # the still frames were written without being drawn
        assert 0 < drawn[0] < 6000


def test_the_conversation_fills_the_state_in_the_rings_own_codes():
    # tbfw.session keeps its own copies of the talker model's codes
    # (constants folded into its code)
    from tbfw import config, talker
    from tbfw.session import Conversation

    conv = Conversation(config.merge_user({}), 20)
    st = ring.RingState()
    assert not conv.show(st, talker.NONE)  # idle: the app shows it
    assert conv.frame(True, True, 30, 200, -30 * 256, 0) == talker.UNKNOWN
    assert conv.show(st, talker.UNKNOWN) and st.mode == ring.MODE_LISTENING
    for az in (30, 200, 30, 200):
        for _ in range(300):
            conv.frame(True, True, az, 200, -30 * 256, 0)
    assert conv.state_name() == "session" and conv.initiator_slot >= 0
    ini = talker.SLOT_A + conv.initiator_slot
    par = talker.SLOT_B if ini == talker.SLOT_A else talker.SLOT_A
    for who, speaking in ((ini, ring.SPEAK_INITIATOR), (par, ring.SPEAK_PARTNER), (talker.BOTH, ring.SPEAK_BOTH),
                          (talker.NONE, ring.SPEAK_NONE), (talker.UNKNOWN, ring.SPEAK_NONE)):
        assert conv.show(st, who) and st.mode == ring.MODE_SESSION and st.speaking == speaking
    assert st.share_pm == conv.initiator_share_pm() and st.elapsed_s == conv.elapsed_s() == 24
    assert st.initiator_az // 10 == 3 and st.partner_az // 10 == 20
    conv.claim(True)
    assert conv.show(st, ini) and st.mode == ring.MODE_CLAIM
