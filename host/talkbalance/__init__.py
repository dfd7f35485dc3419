"""talkbalance: the laptop side of the talk-balance puck."""

__version__ = "0.1.0"
