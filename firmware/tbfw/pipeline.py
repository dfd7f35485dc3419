# The per-frame pipeline shared by the device app and `analyze`:
# front end (ingest, features, voice activity, direction) -> conversation
# (talker model, tally, lifecycle). The app adds the ring, store and link;
# `analyze` feeds it a recording. One code path, so what `analyze` prints is
# what the device would have recorded.

from tbfw.frontend import FrontEnd
from tbfw.session import Conversation


class Pipeline:
    def __init__(self, desc, cfg, device_id="sim", boot=0):
        self.fe = FrontEnd(desc, cfg)
        self.conv = Conversation(cfg, cfg["frame_ms"], device_id, boot)
        self.frame_samples = self.fe.frame_samples
        self.frames = 0
        self.who = 0

    def _after_ingest(self, now_s):
        fe = self.fe
        fe.process()
        conf = 256
        for c in fe.lag_conf_q8:
            if c < conf:
                conf = c
        self.frames += 1
        self.conv.noise_db_q8 = fe.noise_db_q8
        self.who = self.conv.frame(fe.speech, fe.direction_valid, fe.azimuth_deg, conf, fe.frame_db_q8, now_s, fe.voiced)
        return self.who

    def step_pcm16(self, buf, now_s):
        """One frame of interleaved int16 PCM (all channels); returns who spoke."""
        self.fe.ingest_pcm16(buf)
        return self._after_ingest(now_s)

    def step_i2s(self, bufs, now_s):
        """One frame of raw I2S words, one buffer per bus; returns who spoke."""
        fe = self.fe
        for i in range(len(bufs)):
            fe.ingest_i2s(i, bufs[i])
        return self._after_ingest(now_s)
