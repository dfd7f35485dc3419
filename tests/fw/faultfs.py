# A filesystem for the store that loses power on cue (MicroPython and CPython).
#
# Every byte written costs one unit, every rename and remove one unit. When
# the budget runs out the write in progress keeps only the bytes paid for,
# and that call and every later one raise PowerCut, as if the board had
# lost power. With rename_copy=True a rename copies the file byte by byte
# and then removes the source, so a cut can leave a half-done rename (both
# names, or a partial destination), as a filesystem without atomic rename
# would.
import os

from tbfw.store import OsFs


class PowerCut(Exception):
    pass


class FaultFs(OsFs):
    def __init__(self, budget=-1, rename_copy=False):
        self.budget = budget  # -1: never cut
        self.rename_copy = rename_copy
        self.spent = 0
        self.dead = False

    def _take(self, units):
        """Units that may be spent now (all of them unless the cut comes)."""
        if self.dead:
            raise PowerCut()
        if self.budget < 0 or self.spent + units <= self.budget:
            self.spent += units
            return units
        allowed = self.budget - self.spent
        self.spent = self.budget
        self.dead = True
        return allowed

    def _op(self):
        if self._take(1) < 1:
            raise PowerCut()

    def open(self, path, mode):
        if self.dead:
            raise PowerCut()
        f = open(path, mode)
        if "w" in mode or "a" in mode:
            return _CutFile(self, f)
        return f

    def rename(self, old, new):
        if not self.rename_copy:
            self._op()
            os.rename(old, new)
            return
        with open(old, "rb") as src:
            data = src.read()
        dst = self.open(new, "wb")
        try:
            dst.write(data)
        finally:
            dst.close()
        self.remove(old)

    def remove(self, path):
        self._op()
        os.remove(path)


class _CutFile:
    def __init__(self, fs, f):
        self._fs = fs
        self._f = f

    def write(self, data):
        n = self._fs._take(len(data))
        if n:
            self._f.write(data[:n])
        if n < len(data):
            raise PowerCut()
        return n

    def flush(self):
        self._f.flush()

    def close(self):
        self._f.close()  # what reached the file before the cut stays there

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
