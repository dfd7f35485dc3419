# The console of the simulated board once the program has stopped: a small
# friendly REPL and MicroPython's raw REPL protocol (what mpremote speaks).
#
# Raw REPL: Ctrl-A enters it ("raw REPL; CTRL-B to exit\r\n>"); the host
# sends code ended by Ctrl-D; the board answers "OK", the output, Ctrl-D,
# the error output, Ctrl-D, and ">" again. Ctrl-D on an empty entry is a
# soft reset that stays in the raw REPL. Raw-paste mode (Ctrl-E "A" Ctrl-A)
# is declined ("R\x00"), and mpremote falls back to the plain raw REPL.
# In the friendly REPL, Ctrl-D is a soft reset that runs main.py again
# (exit status 3: the launcher restarts the board).
import sys

_RESTART = 3
_BANNER = b"MicroPython on the talkbalance simulated board (unix port)\r\n"


class Console:
    def __init__(self, pending):
        self.inp = sys.stdin.buffer
        self.out = sys.stdout.buffer
        self.pending = bytes(pending)
        self.next = 0
        self.one = bytearray(1)

    def getc(self):
        if self.next < len(self.pending):
            self.next += 1
            return self.pending[self.next - 1]
        if not self.inp.readinto(self.one):
            return -1  # end of input: the port went away for good
        return self.one[0]

    def write(self, data):
        self.out.write(data)
        self.out.flush()


def _run(code, env, console):
    """Execute `code`; returns the exception or None."""
    try:
        exec(compile(code, "<stdin>", "exec"), env)
    except Exception as exc:
        return exc
    except KeyboardInterrupt as exc:
        return exc
    sys.stdout.flush()
    return None


def _fresh_env():
    return {"__name__": "__main__"}


def serve(pending=b""):
    con = Console(pending)
    env = _fresh_env()
    raw = False
    line = bytearray()
    con.write(b"\r\n" + _BANNER + b">>> ")
    while True:
        c = con.getc()
        if c < 0:
            return 0
        if c == 1:  # Ctrl-A: raw REPL
            raw = True
            line = bytearray()
            con.write(b"raw REPL; CTRL-B to exit\r\n>")
            continue
        if raw:
            if c == 2:  # Ctrl-B: friendly REPL
                raw = False
                con.write(b"\r\n" + _BANNER + b">>> ")
            elif c == 3:
                line = bytearray()
            elif c == 5:  # raw-paste request: "A" Ctrl-A follow
                con.getc()
                con.getc()
                con.write(b"R\x00")
            elif c == 4:
                if not line:
                    env = _fresh_env()
                    con.write(b"OK\r\nMPY: soft reboot\r\nraw REPL; CTRL-B to exit\r\n>")
                    continue
                con.write(b"OK")
                exc = _run(bytes(line).decode(), env, con)
                con.write(b"\x04")
                if exc is not None:
                    sys.print_exception(exc, sys.stdout)
                    sys.stdout.flush()
                con.write(b"\x04>")
                line = bytearray()
            else:
                line.append(c)
            continue
        # friendly REPL
        if c == 4:  # Ctrl-D: soft reset, main.py runs again
            con.write(b"\r\nMPY: soft reboot\r\n")
            return _RESTART
        if c == 3:
            line = bytearray()
            con.write(b"\r\nKeyboardInterrupt\r\n>>> ")
        elif c in (10, 13):
            con.write(b"\r\n")
            if line:
                text = bytes(line).decode()
                line = bytearray()
                try:
                    value = eval(text, env)
                    if value is not None:
                        con.write(repr(value).encode() + b"\r\n")
                except SyntaxError:
                    exc = _run(text, env, con)
                    if exc is not None:
                        sys.print_exception(exc, sys.stdout)
                except Exception as exc:
                    sys.print_exception(exc, sys.stdout)
            con.write(b">>> ")
        elif c in (8, 127):
            if line:
                line = line[:-1]
                con.write(b"\x08 \x08")
        else:
            line.append(c)
            con.write(bytes((c,)))
