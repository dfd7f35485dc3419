"""End to end on the simulated device: a session recorded with the clock
unset is stored with its true date by the sync; restarted before the sync,
it is stored as "date unknown", never with the clock's power-up default."""

from __future__ import annotations

import time

import pytest
from talkbalance import dating, devicesim
from talkbalance.cli import main
from talkbalance.device import Device
from talkbalance.localstore import LocalStore
from talkbalance.recordsync import sync

POWER_UP_CLOCK = 1_767_225_600  # what the simulated device's clock reads after power-up


@pytest.fixture
def flash(tmp_path):
    root = tmp_path / "flash"
    devicesim.install_firmware(root)
    return root


def _session(link, seconds=2.0) -> float:
    """Start a session, let it run, stop it; the true (laptop) start time."""
    t0 = time.time()
    link.call("session", {"action": "start"})
    began = (t0 + time.time()) / 2
    time.sleep(seconds)
    link.call("session", {"action": "stop"})
    return began


def test_unset_clock_session_then_sync_stores_the_true_date(flash, tmp_path):
    db = tmp_path / "db.sqlite3"
    with devicesim.SimDevice(flash, speed=1.0) as dev, Device.connect(dev.port, timeout=5) as link:
        assert link.call("clock")["clock_set"] is False
        time.sleep(2.0)  # the device runs a while before the meeting
        began = _session(link)
        time.sleep(1.5)  # and a while after it
        with LocalStore(db) as local:
            result = sync(link, local)
            (stored,) = local.all()
        # a session after the clock was set carries its own date
        began2 = _session(link, 1.0)
        with LocalStore(db) as local:
            sync(link, local)
            second = [s for s in local.all() if s.id != stored.id][0]
    rec = stored.record
    print(f"clock {result.clock_offset_s} s off; stored date - true start: {stored.date_s - began:+.2f} s "
          f"(unset clock), {second.date_s - began2:+.2f} s (set clock)")
    assert rec["clock_set"] is False and abs(rec["start"] - POWER_UP_CLOCK) < 60
    assert result.clock_set and result.clock_offset_s < -300 * 86400  # months slow
    assert stored.date_how == dating.AT_SYNC and abs(stored.date_s - began) <= 2, (stored.date_s, began)
    assert second.record["clock_set"] is True and second.date_how == dating.BY_DEVICE_CLOCK
    assert abs(second.date_s - began2) <= 2, (second.date_s, began2)


def test_power_cycled_before_the_sync_the_date_is_unknown(flash, tmp_path, capsys):
    db = tmp_path / "db.sqlite3"
    with devicesim.SimDevice(flash, speed=1.0) as dev:
        with Device.connect(dev.port, timeout=5) as link:
            boot_before = link.call("clock")["boot"]
            _session(link, 1.0)
        dev.power_cut()
        dev.power_on()
        assert main(["info", "--port", dev.port]) == 0
        assert "not set since power-up" in capsys.readouterr().out
        with Device.connect(dev.port, timeout=5) as link:
            now = link.call("clock")
            assert now["boot"] == boot_before + 1 and now["clock_set"] is False
            began = _session(link, 1.0)  # this boot's session can still be dated
            with LocalStore(db) as local:
                result = sync(link, local)
                rows = local.all()
    assert len(rows) == 2 and len(result.undated) == 1
    old, new = rows  # by boot and session: the undated one first
    assert old.record["boot"] == boot_before and old.date_s is None and old.date_how == dating.UNKNOWN
    assert new.record["boot"] == boot_before + 1 and abs(new.date_s - began) <= 2
    assert "1 of unknown date" in result.summary()
    assert main(["sessions", "--db", str(db)]) == 0
    listing = capsys.readouterr().out
    assert "date unknown" in listing and "2026-01-01" not in listing


def test_a_settings_change_during_a_session_applies_from_the_next(flash, tmp_path):
    """config-set in the middle of a session: the device says when each key
    applies, the session is measured and recorded with the settings it began
    with (the record checker agrees), and the next session uses the new ones."""
    from talkbalance import recordcheck
    from test_e2e import _conversation

    wav = tmp_path / "talk.wav"
    _conversation(wav, seconds=330, share=0.3)
    db = tmp_path / "db.sqlite3"
    with devicesim.SimDevice(flash, audio=wav, speed=10.0) as dev, Device.connect(dev.port, timeout=5) as link:
        while link.call("info")["frames"] < 60 * 50:
            time.sleep(0.2)
        assert link.call("info")["state"] == "session"
        answer = link.call("config-set", {"set": {"target_share_pct": 45, "band_pct": 2, "brightness_pct": 20,
                                                  "frame_ms": 25}})
        assert answer["applies"] == {"target_share_pct": "next_session", "band_pct": "next_session",
                                     "brightness_pct": "now", "frame_ms": "next_boot"}
        while link.call("info")["frames"] < 330 * 50:
            time.sleep(0.5)
        link.call("session", {"action": "stop"})
        _session(link, 1.0)  # the next one, in the quiet room after the recording
        with LocalStore(db) as local:
            result = sync(link, local)
            first, second = [s.record for s in local.all()]
    assert result.checked == 2 and result.check_problems == []
    assert first["config"]["target_share_pct"] == 30 and first["target_share"] == 0.3 and first["band"] == 0.05
    assert first["in_band_s"] is not None and recordcheck.check(first) == []
    assert second["config"]["target_share_pct"] == 45 and second["target_share"] == 0.45 and second["band"] == 0.02
    assert second["config"]["frame_ms"] == 20  # applies at the next boot: this boot still runs 20 ms frames
