# The per-frame pipeline shared by the device app and `analyze`:
# front end (ingest, features, voice activity, direction) -> conversation
# (talker model, tally, lifecycle). The app adds the ring, store and link;
# `analyze` feeds it a recording. One code path, so what `analyze` prints is
# what the device would have recorded.

from micropython import const

from tbfw.frontend import FrontEnd
from tbfw.session import IDLE, Conversation

# a frame without a confident direction votes for the talker whose own lags
# it correlates at by this much more than the other's (Q8, summed over the
# pairs: 0.375; docs/frontend.md, "Listening at the talkers' lags")
_HEARD_Q8 = const(96)


class Pipeline:
    def __init__(self, desc, cfg, device_id="sim", boot=0):
        self.fe = FrontEnd(desc, cfg)
        self.conv = Conversation(cfg, cfg["frame_ms"], device_id, boot)
        self.frame_samples = self.fe.frame_samples
        self.frames = 0
        self.who = 0
        self._dead = 0  # the microphones dead when the conversation's talkers were learned
        self._listen_az = [-1, -1]  # the talkers' azimuths the front end listens at

    def attribute(self, now_s):
        """The conversation's part of a frame the front end has processed;
        returns who spoke. A direction counts with the least confidence of
        the working pairs (a dead microphone's pair has none, and the other
        pair then gives a one-pair direction), but only while the dead
        microphones are those its talkers were learned with: one-pair angles
        are folded about the pair's axis and do not match talkers learned
        from two pairs, nor the other way round (docs/frontend.md,
        "Limits"). In a noisy room a frame without a confident direction
        votes for the talker at whose own lags it correlates (FrontEnd.hear)
        when every microphone works."""
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
        valid = fe.direction_valid
        az = fe.azimuth_deg
        model = conv.model
        slot_az = model.slot_az
        listen = self._listen_az
        if slot_az[0] != listen[0] or slot_az[1] != listen[1]:
            listen[0], listen[1] = slot_az
            fe.listen_at(slot_az)
        if fe.hear() and not (valid and conf >= model.min_conf_q8) and dead == self._dead:
            # no confident direction: the talker whose own lags it correlates at
            # (docs/frontend.md, "Listening at the talkers' lags"), at the least
            # weight; hear() reads only while every microphone works
            d = fe.heard_q8[0] - fe.heard_q8[1]
            if d >= _HEARD_Q8 or d <= -_HEARD_Q8:
                valid = True
                az = slot_az[0] if d > 0 else slot_az[1]
                conf = model.min_conf_q8
        self.who = conv.frame(fe.speech, valid, az, conf, fe.frame_db_q8, now_s, fe.voiced)
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
