"""Named exceptions that separate a user's or device's fault from a bug.

The CLI turns each into one line, `talkbalance: <message>`, and exit 1.
"""


class TalkbalanceError(Exception):
    """A fault the user can act on; `hint` says what to do."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


class ToolMissing(TalkbalanceError):
    """A runtime or tool the command needs is not installed."""


class LinkError(TalkbalanceError):
    """The device did not answer as the protocol says."""


class StoreCorrupt(TalkbalanceError):
    """A stored record failed its check."""


class InputError(TalkbalanceError):
    """A file or argument given by the user cannot be used."""


class StoreMissing(TalkbalanceError):
    """There is no session store at the path given."""


class StoreUnwritable(TalkbalanceError):
    """The session store (or its folder) cannot be written."""
