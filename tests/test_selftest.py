"""`talkbalance selftest` against the simulated device (the real firmware)."""

from __future__ import annotations

import json

from talkbalance import sim
from talkbalance.cli import main
from talkbalance.device import Device


def test_selftest_on_the_simulated_device(tmp_path, capsys):
    sim.install_firmware(tmp_path / "flash")
    with sim.SimDevice(tmp_path / "flash", speed=1.0) as dev:
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
