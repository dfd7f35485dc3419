# Settings changed while a session runs, in the app on the chip-like board
# (tests/fwchip): the device's answer says when each applies, the ring keeps
# the session's own target and band while the brightness changes at once,
# and the next session takes the new target.
from fwtest_chip import Run, _app  # noqa: I001 (sets up the stand-ins first)


def test_a_change_during_a_session_applies_now_or_from_the_next_session():
    c, a = _app()
    run = Run(c, a)
    run.frames(50)
    a.answers.session("start")
    run.frames(100)
    st = a.ring_state
    assert st.target_pm == 300 and st.band_pm == 50
    answer = a.answers.config_set({"target_share_pct": 45, "band_pct": 2, "brightness_pct": 20, "meeting_min": 60})
    assert answer["applies"] == {"target_share_pct": "next_session", "band_pct": "next_session",
                                 "brightness_pct": "now", "meeting_min": "next_session"}
    run.frames(100)
    assert st.brightness_pct == 20  # display: at once
    assert st.target_pm == 300 and st.band_pm == 50 and st.meeting_s == 2400  # the session's own
    assert a.conv.tally.target_pm == 300
    a.answers.session("stop")
    run.frames(100)
    a.answers.session("start")
    run.frames(100)
    assert st.target_pm == 450 and st.band_pm == 20 and st.meeting_s == 3600
    assert a.conv.session_cfg["target_share_pct"] == 45
    a.answers.session("stop")
    c.uninstall()
