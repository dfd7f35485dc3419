# The per-frame pipeline shared by the device app and `analyze`:
# front end (ingest, features, voice activity, direction) -> conversation
# (talker model, tally, lifecycle). The app adds the ring, store and link;
# `analyze` feeds it a recording. One code path, so what `analyze` prints is
# what the device would have recorded.

from tbfw.frontend import FrontEnd
from tbfw.session import IDLE, Conversation


class Pipeline:
    def __init__(self, desc, cfg, device_id="sim", boot=0):
        self.fe = FrontEnd(desc, cfg)
        self.conv = Conversation(cfg, cfg["frame_ms"], device_id, boot)
        self.frame_samples = self.fe.frame_samples
        self.frames = 0
        self.who = 0
        self._dead = 0  # the microphones dead when the conversation's talkers were learned

    def attribute(self, now_s):
        """The conversation's part of a frame the front end has processed;
        returns who spoke. A direction counts with the least confidence of
        the working pairs (a dead microphone's pair has none, and the other
        pair then gives a one-pair direction), but only while the dead
        microphones are those its talkers were learned with: one-pair angles
        are folded about the pair's axis and do not match talkers learned
        from two pairs, nor the other way round (docs/frontend.md,
        "Limits")."""
        fe = self.fe
        conv = self.conv
        dead = fe.dead_mask
        if dead != self._dead and (conv.state == IDLE or not conv.model.learned):
            self._dead = dead  # no talkers yet: they will be learned with these microphones
        conf = 0
        if dead == self._dead:
            conf = 256
            if dead:
                confs = fe.lag_conf_q8
                for p in range(fe.pairs):
                    if confs[p] < conf and not dead & fe.pair_masks[p]:
                        conf = confs[p]
            else:
                for c in fe.lag_conf_q8:
                    if c < conf:
                        conf = c
        else:  # no votes until the same microphones work again (a session's: talkers learned)
            conv.tally.lost += 1
        self.frames += 1
        conv.noise_db_q8 = fe.noise_db_q8
        self.who = conv.frame(fe.speech, fe.direction_valid, fe.azimuth_deg, conf, fe.frame_db_q8, now_s, fe.voiced)
        return self.who

    def step_pcm16(self, buf, now_s):
        """One frame of interleaved int16 PCM (all channels); returns who spoke."""
        fe = self.fe
        fe.ingest_pcm16(buf)
        fe.process()
        return self.attribute(now_s)

    def step_i2s(self, bufs, now_s):
        """One frame of raw I2S words, one buffer per bus; returns who spoke."""
        fe = self.fe
        for i in range(len(bufs)):
            fe.ingest_i2s(i, bufs[i])
        fe.process()
        return self.attribute(now_s)
