# Frame-level conversation generator for talker-model tests (MicroPython and
# CPython): yields what the front end would report per frame, with the truth.
# Deterministic: its own LCG, no dependence on the runtime's random module.


class Lcg:
    def __init__(self, seed):
        self.state = seed & 0x7FFFFFFF

    def next(self):
        self.state = (self.state * 1103515245 + 12345) & 0x7FFFFFFF
        return self.state

    def uniform(self, lo, hi):
        return lo + (hi - lo) * (self.next() % 100000) / 100000

    def chance(self, p):
        return self.next() % 10000 < p * 10000


def conversation(seed, az, share=0.3, seconds=300, spread=8, conf_rate=0.6,
                 frame_ms=20, first=0, outlier_rate=0.03, third_az=None, pair_s=16.0):
    """Yield (truth, speech, valid, azimuth, conf_q8, level_q8) per frame.

    truth: 0 silence, 1 talker az[0], 2 talker az[1]. Turns alternate starting
    with `first`; turn lengths make talker 0's share about `share`, a turn of
    each lasting about `pair_s` together.
    """
    rng = Lcg(seed)
    fps = 1000 // frame_ms
    total = seconds * fps
    f = 0
    who = first
    while f < total:
        mean_s = pair_s * (share if who == 0 else 1 - share)
        turn = int(rng.uniform(0.5, 1.5) * mean_s * fps)
        end = min(total, f + turn)
        while f < end:
            # words: 0.2-0.6 s of speech, 0.05-0.3 s pauses
            word = int(rng.uniform(0.2, 0.6) * fps)
            for _ in range(min(word, end - f)):
                valid = rng.chance(conf_rate)
                a = az[who] + rng.uniform(-spread, spread)
                if rng.chance(outlier_rate):
                    a = rng.uniform(0, 360)
                yield who + 1, True, valid, int(a) % 360, 200 if valid else 0, -20 * 256
                f += 1
            gap = int(rng.uniform(0.05, 0.3) * fps)
            for _ in range(min(gap, end - f)):
                if third_az is not None and rng.chance(0.01):
                    yield 0, True, True, third_az, 220, -30 * 256
                else:
                    yield 0, False, False, -1, 0, -60 * 256
                f += 1
        pause = int(rng.uniform(0.3, 1.2) * fps)
        for _ in range(min(pause, total - f)):
            yield 0, False, False, -1, 0, -60 * 256
            f += 1
        who = 1 - who
