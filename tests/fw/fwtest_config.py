# Board file and user config validation, under MicroPython.
import fwlib
from fwlib import board as _board
from tbfw import config


def _rejects(board, field_part):
    try:
        config.validate_board(board)
    except config.ConfigError as exc:
        assert field_part in exc.field, (field_part, exc.field)
        return
    raise AssertionError("accepted an invalid board: " + field_part)


def test_default_board_is_valid():
    desc = config.validate_board(_board())
    assert desc["channels"] == 4
    assert len(desc["pair_lags"]) == 2
    for plus, minus, spacing in desc["pair_lags"]:
        assert abs(spacing - 0.10) < 1e-9


def test_missing_pin():
    board = _board()
    del board["i2s"][1]["sd"]
    _rejects(board, "i2s[1].sd")


def test_pair_names_missing_channel():
    board = _board()
    board["pairs"][1]["minus"] = 7
    _rejects(board, "pairs[1].minus")


def test_ring_of_zero_leds():
    board = _board()
    board["ring"]["count"] = 0
    _rejects(board, "ring.count")


def test_pin_used_twice():
    board = _board()
    board["button"]["pin"] = board["ring"]["pin"]
    _rejects(board, "button.pin")


def test_user_config_rejects_unknown_and_out_of_range():
    for key, value in (("nope", 1), ("frame_ms", 5), ("frame_ms", "20"), ("night", 1), ("initiator_rule", "x")):
        try:
            config.merge_user({key: value})
        except config.ConfigError as exc:
            assert exc.field == key
        else:
            raise AssertionError("accepted %s=%r" % (key, value))
    cfg = config.merge_user({"frame_ms": 32, "night": True})
    assert cfg["frame_ms"] == 32 and cfg["night"] is True and cfg["target_share_pct"] == 30


def test_chip_rules_under_micropython():
    board = _board()
    board["chip"] = "esp32"
    _rejects(board, "i2s[0].ws")  # GPIO 5: a strapping pin of the classic ESP32
    board = _board()
    board["i2s"][1]["id"] = 0
    _rejects(board, "i2s[1].id")  # the second I2S(0) would de-initialise the first
    path = fwlib.board_path().rsplit("/", 1)[0] + "/board-esp32-devkitc.json"
    desc = config.load_board(path)
    assert desc["chip"] == "esp32" and desc["channels"] == 4


def test_fields_of_the_wrong_kind_are_refused_by_name():
    # a list or an object where a name or a number belongs: a ConfigError
    # naming the field, not a TypeError (at boot: a message, not a crash)
    cases = (
        (("chip",), {"a": 1}, "chip"),
        (("chip",), ["esp32"], "chip"),
        (("psram",), ["quad"], "psram"),
        (("i2s", 0, "channels"), [[1, 2], 1], "i2s[0].channels"),
        (("i2s", 0, "channels"), [True, 1], "i2s[0].channels"),
        (("button",), -1, "button.pin"),
        (("button",), ["pin"], "button.pin"),
    )
    for place, value, field in cases:
        board = _board()
        obj = board
        for key in place[:-1]:
            obj = obj[key]
        obj[place[-1]] = value
        _rejects(board, field)
