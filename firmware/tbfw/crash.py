# Never dead at the prompt. tbfw.app.main() hands an exception the app did
# not handle to crashed(), importing this module only then: it is written
# to crash.log (traceback, boot, seconds run), the ring shows the error
# pattern, and the board resets.
# Crashes in a row are counted in crash.txt: a crash after the app had run
# _HEALTHY_S seconds counts as the first; at _LIMIT the board stays at the
# prompt instead (the ring showing the error, the watchdog relaxed, the REPL
# reachable for mpremote and `talkbalance deploy`), and the count starts
# again, so the next reset or power-up tries anew. Ctrl-C is not a crash.
#
# Paths are relative to the flash root ("/" on a board, the flash folder in
# the simulator). Nothing here runs at import.

import sys
import time

from micropython import const

LOG_PATH = "crash.log"
COUNT_PATH = "crash.txt"
LIMIT = const(3)               # crashes in a row before the board stays at the prompt
_HEALTHY_S = const(60)         # a crash after this long starts the count again
_LOG_MAX = const(4096)         # crash.log keeps its newest bytes, about this many
_SHOW_MS = const(3000)         # the error pattern before the reset


def crashed(exc, board, boot, ran_s, board_module):
    """Handle a crash of the app (tbfw.app.main): board None when it failed
    before the board was made, boot None before the app was; board_module
    gives the platform's board module (tbfw.app.board_module), whose
    reset() restarts the chip. Returns "stopped" at the limit (back to the
    prompt); otherwise resets."""
    count = 1 if ran_s >= _HEALTHY_S else read_count() + 1
    at_limit = count >= LIMIT
    _write_count(0 if at_limit else count)
    head = "crash %d of %d in a row: boot %s, %d s run" % (count, LIMIT, "?" if boot is None else boot, ran_s)
    _append_log(head, exc)
    sys.print_exception(exc)
    _say(board, "error-crash %s: %s: %s" % (head, type(exc).__name__, exc))
    if at_limit:
        if board is not None:
            _quiet(board)
            _show_error(board, 0)
            _say(board, "error-crash-loop: staying at the prompt; see /%s" % LOG_PATH)
        return "stopped"
    if board is not None:
        _show_error(board, _SHOW_MS)
    _reset(board, board_module)
    return None


def read_count():
    try:
        with open(COUNT_PATH) as f:
            return int(f.read().strip() or "0")
    except (OSError, ValueError):
        return 0


def _write_count(count):
    try:
        with open(COUNT_PATH, "w") as f:
            f.write("%d\n" % count)
    except OSError:
        pass  # a full or broken flash: the count stays as it was


def _append_log(head, exc):
    import io

    text = io.StringIO()
    sys.print_exception(exc, text)
    entry = "--- %s\n%s" % (head, text.getvalue())
    old = ""
    try:
        with open(LOG_PATH) as f:
            old = f.read()
    except OSError:
        pass
    if len(old) + len(entry) > _LOG_MAX:
        old = old[-(_LOG_MAX // 2):]
        cut = old.find("--- ")
        old = old[cut:] if cut >= 0 else ""
    try:
        with open(LOG_PATH, "w") as f:
            f.write(old + entry)
    except OSError:
        pass  # nowhere to write: the serial line has it (print_exception)


def _say(board, text):
    if board is not None:
        try:
            board.log(text)
        except Exception:  # the serial line may be what failed; crash.log has it
            pass


def _quiet(board):
    try:
        board.stop()  # I2S off, watchdog relaxed (App.run does it too; not App())
    except Exception:  # the board may be what failed; the prompt matters more
        pass


def _show_error(board, for_ms):
    """The ring's error pattern (docs/ring.md), animated for `for_ms`, then
    left lit (the last frame stays on the LEDs)."""
    try:
        from tbfw import ring

        leds = ring.from_board(board.desc)
        state = ring.RingState()
        state.mode = ring.MODE_ERROR
        buf = bytearray(3 * leds.count)
        start = time.ticks_ms()
        while True:
            now = time.ticks_ms()
            leds.render(state, now, buf)
            board.ring_write(buf)
            if time.ticks_diff(now, start) >= for_ms:
                break
            time.sleep_ms(ring.FRAME_MS)
    except Exception:  # the ring or its board may be what failed
        pass


def _reset(board, board_module):
    if board is not None:
        board.reboot()
    reset = getattr(board_module(), "reset", None)
    if reset is not None:
        reset()  # board_esp32: machine.reset()
    sys.exit(3)  # the simulator: its launcher restarts the process, as a board restarts
