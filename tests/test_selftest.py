"""`talkbalance selftest` against the simulated device (the real firmware)."""

from __future__ import annotations

import json
import time

import pytest
from talkbalance import devicesim
from talkbalance.cli import main
from talkbalance.device import Device, DeviceError

import talkbalance.fw  # noqa: F401  isort: skip
from tbfw import wire  # noqa: E402  isort: skip


def test_selftest_on_the_simulated_device(tmp_path, capsys):
    devicesim.install_firmware(tmp_path / "flash")
    with devicesim.SimDevice(tmp_path / "flash", speed=1.0) as dev:
        code = main(["selftest", "--port", dev.port, "--json"])
        result = json.loads(capsys.readouterr().out)
        assert code == 0, result
        assert result["ok"] is True
        assert len(result["mics"]["levels_db"]) == 4 and result["mics"]["dead_mask"] == 0
        assert result["leds"]["leds"] == 16
        assert result["flash"]["ok"] and result["flash"]["bytes"] > 0
        assert 0 < result["cost"]["mean_us"] <= result["cost"]["worst_us"]
        assert result["cost"]["budget_us"] == 20000
        # the tap check needs the I2S microphones of a real board: said plainly
        code = main(["selftest", "--port", dev.port, "--tap"])
        out = capsys.readouterr().out
        assert code == 1 and "needs the I2S microphones of a real board" in out
        with Device.connect(dev.port, timeout=5) as link:
            link.call("session", {"action": "start"})
        code = main(["selftest", "--port", dev.port])
        assert code == 1 and "a session is running" in capsys.readouterr().err


def test_five_self_tests_in_a_row_pass_and_cost_the_audio_nothing(tmp_path, capsys):
    """`talkbalance selftest` five times: the self-test runs in the loop a
    step per frame, audio keeps flowing, its time is reported apart, and a
    later run is not failed by an earlier one."""
    devicesim.install_firmware(tmp_path / "flash")
    held = []
    with devicesim.SimDevice(tmp_path / "flash", speed=1.0) as dev:
        for _ in range(5):
            with Device.connect(dev.port, timeout=5) as link:
                before = link.call("info")
            code = main(["selftest", "--port", dev.port, "--json"])
            result = json.loads(capsys.readouterr().out)
            with Device.connect(dev.port, timeout=5) as link:
                after = link.call("info")
            assert code == 0 and result["ok"] is True, result
            assert result["cost"]["overruns"] == 0 and result["cost"]["worst_us"] < 20000, result["cost"]
            own = result["selftest"]
            # the walk spanned frames of the loop, which went on reading audio
            assert own["frames"] >= 16 and after["frames"] - before["frames"] >= own["frames"]
            assert own["lost_samples"] == 0 and after["lost_samples"] == before["lost_samples"]
            held.append(own)
        code = main(["selftest", "--port", dev.port])
        out = capsys.readouterr().out
    assert code == 0 and "samples lost meanwhile" in out and "self-test passed" in out
    print("self-test costs:", held)


def test_a_request_runs_each_test_at_most_once_and_one_request_at_a_time(tmp_path):
    devicesim.install_firmware(tmp_path / "flash")
    with devicesim.SimDevice(tmp_path / "flash", speed=1.0) as dev, Device.connect(dev.port, timeout=5) as link:
        with pytest.raises(DeviceError) as err:
            link.call("selftest", {"tests": ["leds"] * 12})
        assert err.value.code == wire.E_BAD_ARG and "asked twice" in err.value.device_message
        with pytest.raises(DeviceError) as err:
            link.call("selftest", {"tests": ["smoke"]})
        assert err.value.code == wire.E_BAD_ARG and "unknown self-test smoke" in err.value.device_message
        # the button check waits for a press over many frames; meanwhile the
        # loop runs and the link answers (a second self-test is refused)
        ident = link._send("selftest", {"tests": ["button"]})
        time.sleep(1.0)
        first = link.call("info")
        with pytest.raises(DeviceError) as err:
            link.call("selftest", {"tests": ["mics"]})
        assert err.value.code == wire.E_BUSY
        time.sleep(1.0)
        assert link.call("info")["frames"] >= first["frames"] + 40  # 50 frames a second
        answer = next(link._wait(ident, time.monotonic() + 15)).body
    assert answer["button"]["timeout"] is True and answer["ok"] is False
    assert answer["selftest"]["lost_samples"] == 0 and answer["selftest"]["frames"] >= 400  # 10 s of frames
