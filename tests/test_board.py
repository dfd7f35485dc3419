"""Board file validation on the host (the firmware's own rules, CPython side)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from talkbalance import boardfile, paths
from talkbalance.cli import main
from talkbalance.errors import InputError
from talkbalance.fw import config as fwconfig


def _write(tmp_path, desc):
    path = tmp_path / "board.json"
    path.write_text(json.dumps(desc))
    return path


def _default():
    return json.loads(paths.board_path().read_text())


def test_default_board_geometry_matches_design():
    desc = boardfile.load()
    assert boardfile.mic_positions(desc) == [(0.05, 0.0), (-0.05, 0.0), (0.0, 0.05), (0.0, -0.05)]
    assert desc["sample_rate_hz"] == 16000
    assert desc["ring"]["count"] == 16


@pytest.mark.parametrize("mutate, field", [
    (lambda b: b["i2s"][0].pop("sck"), "i2s[0].sck"),
    (lambda b: b["pairs"][0].update(minus=9), "pairs[0].minus"),
    (lambda b: b["ring"].update(count=0), "ring.count"),
    (lambda b: b["ring"].update(direction="up"), "ring.direction"),
    (lambda b: b["ring"].pop("channel_ma"), "ring.channel_ma"),
    (lambda b: b["ring"].update(channel_ma=0), "ring.channel_ma"),
    (lambda b: b["ring"].pop("budget_ma"), "ring.budget_ma"),
    # 20 mA a channel: 2570 mA would let the ring's sum of values reach 2^15 (tbfw.ring._finish's bound)
    (lambda b: b["ring"].update(budget_ma=2570), "ring.budget_ma"),
    (lambda b: b["mics"].pop(), "mics"),
    (lambda b: b["pairs"][0].update(minus=2), "pairs[0]."),
    (lambda b: b["button"].update(pin=b["ring"]["pin"]), "button.pin"),
])
def test_invalid_boards_are_rejected_naming_the_field(tmp_path, mutate, field):
    desc = _default()
    mutate(desc)
    assert field in _refusal(tmp_path, desc)


def test_one_pair_board_is_valid(tmp_path):
    desc = _default()
    desc["mics"] = desc["mics"][:2]
    desc["i2s"] = desc["i2s"][:1]
    desc["pairs"] = desc["pairs"][:1]
    loaded = boardfile.load(_write(tmp_path, desc))
    assert loaded["channels"] == 2


def test_cli_board_prints_summary(capsys):
    assert main(["board"]) == 0
    out = capsys.readouterr().out
    assert "16 LEDs" in out and "spacing 100.0 mm" in out


def test_cli_reports_bad_board_in_one_line(tmp_path, capsys):
    path = tmp_path / "b.json"
    path.write_text("{not json")
    assert main(["board", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("talkbalance: board file") and "not valid JSON" in err


def _refusal(tmp_path, desc):
    with pytest.raises(InputError) as err:
        boardfile.load(_write(tmp_path, desc))
    return str(err.value)


def _classic():
    return json.loads((paths.board_path().parent / "board-esp32-devkitc.json").read_text())


def test_classic_esp32_board_file_passes():
    desc = boardfile.load(paths.board_path().parent / "board-esp32-devkitc.json")
    assert desc["chip"] == "esp32" and desc["channels"] == 4
    assert boardfile.mic_positions(desc) == boardfile.mic_positions(boardfile.load())


# Every GPIO of the S3 reference board that a classic ESP32 cannot take, and why.
_S3_PINS_ON_ESP32 = [
    ("i2s[0].ws", 5, "strapping"),
    ("i2s[0].sd", 6, "SPI flash"),
    ("i2s[1].sck", 15, "strapping"),
    ("i2s[1].ws", 16, "PSRAM"),
    ("i2s[1].sd", 17, "PSRAM"),
    ("ring.pin", 38, "input only"),
]


@pytest.mark.parametrize("field, pin, why", _S3_PINS_ON_ESP32)
def test_s3_pins_are_refused_on_a_classic_esp32(tmp_path, field, pin, why):
    desc = _default()
    desc["chip"] = "esp32"
    classic = _classic()
    # every other pin from the classic board file: only `field` is wrong
    for bus, good in zip(desc["i2s"], classic["i2s"]):
        bus.update({k: good[k] for k in ("sck", "ws", "sd")})
    desc["ring"]["pin"] = classic["ring"]["pin"]
    part, name = field.split(".")
    target = desc["ring"] if part == "ring" else desc["i2s"][int(part[4])]
    target[name] = pin
    message = _refusal(tmp_path, desc)
    assert f"{field}: GPIO {pin}" in message and why in message


def test_the_s3_board_file_is_refused_whole_on_a_classic_esp32(tmp_path):
    desc = _default()
    desc["chip"] = "esp32"
    assert "of the esp32" in _refusal(tmp_path, desc)


@pytest.mark.parametrize("chip, psram, field, pin, why", [
    ("esp32s3", "octal", "ring.pin", 35, "PSRAM"),
    ("esp32s3", "octal", "ring.pin", 27, "SPI flash"),
    ("esp32s3", "none", "ring.pin", 43, "serial link"),
    ("esp32s3", "none", "ring.pin", 20, "serial link"),
    ("esp32s3", "none", "ring.pin", 46, "strapping"),
    ("esp32s3", "none", "ring.pin", 23, "does not exist"),
    ("esp32", "none", "ring.pin", 1, "serial link"),
    ("esp32", "none", "ring.pin", 12, "strapping"),
    ("esp32", "none", "button.pin", 36, "input only"),  # no internal pull-up
])
def test_chip_pin_rules(tmp_path, chip, psram, field, pin, why):
    desc = _classic() if chip == "esp32" else _default()
    desc["psram"] = psram
    part, name = field.split(".")
    desc[part][name] = pin
    message = _refusal(tmp_path, desc)
    assert f"{field}: GPIO {pin}" in message and why in message


def test_pins_allowed_by_the_chip(tmp_path):
    desc = _default()
    desc["psram"] = "none"
    desc["ring"]["pin"] = 35  # free on a module without PSRAM
    assert boardfile.load(_write(tmp_path, desc))["ring"]["pin"] == 35
    desc = _classic()
    desc["psram"] = "none"
    desc["ring"]["pin"] = 16  # WROOM: no PSRAM on 16/17
    desc["button"] = {"pin": 0, "active_low": True}  # the BOOT button on the strapping pin
    assert boardfile.load(_write(tmp_path, desc))["ring"]["pin"] == 16
    desc["button"] = {"pin": 0, "active_low": False}  # pressed to 3V3: refused
    with pytest.raises(InputError, match="button.pin: GPIO 0 is a strapping pin"):
        boardfile.load(_write(tmp_path, desc))


@pytest.mark.parametrize("mutate, field", [
    (lambda b: b["i2s"][1].update(id=0), "i2s[1].id: I2S 0 is already used"),
    (lambda b: b.update(chip="esp8266"), "chip: must be one of"),
    (lambda b: b.pop("chip"), "chip: missing"),
    (lambda b: b.update(psram="hex"), "psram: must be one of"),
    (lambda b: b.update(chip="esp32", psram="octal"), "psram: must be one of none, quad"),
    (lambda b: b["button"].update(active_low=1), "button.active_low"),
])
def test_chip_and_bus_fields_are_checked(tmp_path, mutate, field):
    desc = _default()
    mutate(desc)
    assert field in _refusal(tmp_path, desc)


@pytest.mark.parametrize("mutate, field", [
    (lambda b: b.update(chip={"a": 1}), "chip"),
    (lambda b: b.update(chip=["esp32"]), "chip"),
    (lambda b: b.update(psram=["quad"]), "psram"),
    (lambda b: b["i2s"][0].update(channels=[[1, 2], 1]), "i2s[0].channels"),
    (lambda b: b["i2s"][0].update(channels=[True, 1]), "i2s[0].channels"),
    (lambda b: b.update(button=-1), "button.pin"),
    (lambda b: b.update(button=["pin"]), "button.pin"),
])
def test_fields_of_the_wrong_kind_are_refused_naming_the_field(tmp_path, mutate, field):
    desc = _default()
    mutate(desc)
    assert field in _refusal(tmp_path, desc)


_ANY = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=6),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                    max_leaves=8)


def _places(obj, at=()):
    """Every key path in a JSON value."""
    yield at
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _places(v, at + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _places(v, at + (i,))


_PLACES = [p for p in _places(_default()) if p]


@given(st.lists(st.tuples(st.sampled_from(_PLACES), _ANY), min_size=1, max_size=3))
@settings(max_examples=400, deadline=None)
def test_any_value_anywhere_in_the_board_file_is_taken_or_refused_by_name(changes):
    # the firmware's rules (shared with the host) on a board file whose
    # fields may hold anything: a ConfigError naming the field, never
    # another exception (at boot that would be a crash instead of a message)
    desc = _default()
    for place, value in changes:
        obj = desc
        try:
            for key in place[:-1]:
                obj = obj[key]
            obj[place[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    try:
        fwconfig.validate_board(desc)
    except fwconfig.ConfigError:
        pass
