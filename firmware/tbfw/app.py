# The application: builds the pipeline from the board and the config, then
# runs the frame loop. Logic only; every hardware object comes from `board`.

from tbfw import config
from tbfw.version import VERSION


class App:
    def __init__(self, board):
        self.board = board
        self.board_desc = board.desc
        self.cfg = config.load_user(board.config_path)
        rate = self.board_desc["sample_rate_hz"]
        self.frame_samples = rate * self.cfg["frame_ms"] // 1000
        self.frames = 0

    def step(self):
        """One audio frame; False when the audio source has ended."""
        if not self.board.read_frame():
            return False
        self.frames += 1
        return True

    def run(self):
        self.board.log("talkbalance %s on %s" % (VERSION, self.board_desc.get("name", "?")))
        try:
            while self.step():
                pass
        finally:
            self.board.log("stopped after %d frames" % self.frames)


def _default_board():
    import sys

    if sys.platform == "esp32":
        from tbfw import board_esp32 as module
    else:
        from tbfw import board_sim as module
    return module.make()


def main(board=None):
    if board is None:
        board = _default_board()
    App(board).run()
