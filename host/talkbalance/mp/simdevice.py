# The simulated board's boot, run by `talkbalance sim` on the MicroPython
# unix port inside the simulated flash directory. Like a board running
# MicroPython: run main.py if the flash has one, then hand the console to
# the REPL (friendly and raw, so mpremote can take over). Exit status 3 asks
# the launcher for a restart (soft reset, machine reset, the reboot command).
import os
import sys

sys.path.insert(0, "")
sys.path.insert(1, "lib")

_RESTART = 3


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _run_main():
    """Run main.py; returns an exit status for the launcher, or None for the REPL."""
    if not _exists("main.py"):
        return None
    try:
        with open("main.py") as f:
            source = f.read()
        exec(compile(source, "main.py", "exec"), {"__name__": "__main__"})
    except KeyboardInterrupt:
        sys.stdout.write("Traceback (most recent call last):\r\nKeyboardInterrupt: \r\n")
    except SystemExit as exc:
        code = exc.args[0] if exc.args else 0
        return code if isinstance(code, int) else 1
    except Exception as exc:  # a crash of the firmware: report it as a board would
        sys.print_exception(exc, sys.stdout)
        sys.print_exception(exc, sys.stderr)
    return None


def _boot():
    status = _run_main()
    if status is not None:
        return status
    import simrepl

    pending = b""
    sim = sys.modules.get("tbfw.board_sim")
    if sim is not None:
        pending = bytes(sim.PENDING)
    return simrepl.serve(pending)


sys.exit(_boot())
