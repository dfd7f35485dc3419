# The chip-like board's os module: MicroPython's, with the calls that change
# the flash (rename, remove, mkdir, rmdir) reported to chip.py's flash model
# (FLASH_HOOK), which stalls the chip for the erase. See chip.py.
import uos as _uos
from uos import *  # noqa: F403 (everything not overridden below)

FLASH_HOOK = [None]  # fn(kind, nbytes) or None


def _changed(kind):
    hook = FLASH_HOOK[0]
    if hook is not None:
        hook(kind, 0)


def rename(old, new):
    _uos.rename(old, new)
    _changed("rename")


def remove(path):
    _uos.remove(path)
    _changed("remove")


def mkdir(path):
    _uos.mkdir(path)
    _changed("mkdir")


def rmdir(path):
    _uos.rmdir(path)
    _changed("rmdir")
