"""End to end: sync against the simulated device (the real firmware, app
loop included, on the MicroPython unix port behind a real pty)."""

from __future__ import annotations

import json

import pytest
from records_fixture import make_record
from talkbalance import devicesim
from talkbalance.device import Device
from talkbalance.localstore import LocalStore
from talkbalance.recordsync import sync

import talkbalance.fw  # noqa: F401  isort: skip
from tbfw import store  # noqa: E402  isort: skip


@pytest.fixture
def flash(tmp_path):
    root = tmp_path / "flash"
    devicesim.install_firmware(root)
    return root


def _device_id(flash) -> str:
    with devicesim.SimDevice(flash) as dev, Device.connect(dev.port, timeout=5) as link:
        return link.hello()["device"]


def test_sync_and_resync_against_the_simulated_device(flash, tmp_path):
    device_id = _device_id(flash)
    records = [make_record(seed=i + 1, seconds=60, device=device_id, boot=50 + i) for i in range(3)]
    st = store.Store(str(flash / "data" / "sessions"))
    for rec in records:
        st.add(rec["id"], json.dumps(rec).encode())
    st.close()
    db = tmp_path / "local.sqlite3"
    with devicesim.SimDevice(flash) as dev, Device.connect(dev.port, timeout=5) as link, LocalStore(db) as local:
        first = sync(link, local)
        second = sync(link, local)
        listed = {r["id"]: r["synced"] for r in link.list_records()}
        stored = {s.id: s.record for s in local.all()}
    assert first.device == device_id and first.new == 3 and first.acked == 3 and not first.corrupt
    assert second.new == 0 and second.already == 3 and second.acked == 0
    assert stored == {r["id"]: r for r in records}
    assert all(listed[r["id"]] for r in records)


def test_live_view_of_the_simulated_device(flash, capsys):
    from talkbalance import cli

    with devicesim.SimDevice(flash, speed=1.0) as dev:
        code = cli.main(["live", "--port", dev.port, "--count", "2", "--ring", "always", "--timeout", "5"])
        out = capsys.readouterr().out
        with Device.connect(dev.port, timeout=5) as link:
            assert link.call("info")["device"].startswith("sim")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 2
    for line in lines:
        assert line.count("\x1b[38;2;") == 16  # the device's own 16 pixels
        assert "speaking: " in line and line.split("\x1b[0m")[1].split()[0] in ("idle", "session", "listening")
