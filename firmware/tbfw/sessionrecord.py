# The session record (schema in docs/record.md): Conversation.record and
# Conversation.write_record. Needed when a session is saved (and by
# `analyze`), never per frame: loaded for the call and released after it
# (tbfw.ondemand; the app holds it, and one Writer, across the store's two
# passes of a save).

import json

from micropython import const

from tbfw.version import VERSION

SCHEMA = const(2)  # 2: uptime_s and clock_set


def record(conv, now_s=None, timeline=True):
    """The session record (a dict; JSON-serialisable). timeline=False
    leaves the per-minute timeline out (write_record streams it)."""
    tally = conv.tally
    if tally is not None:
        tally.settle()  # hangover frames still held back end the speech
    fps = conv.frames_per_s
    ini = conv.initiator_slot if conv.initiator_slot >= 0 else 0
    slots = (ini, 1 - ini)
    talk_total = 0
    if tally is not None:
        talk_total = tally.talk[0] + tally.talk[1] + 2 * tally.both
    talkers = []
    for role, slot in (("initiator", slots[0]), ("partner", slots[1])):
        entry = {"role": role, "azimuth_deg": conv.model.slot_az[slot]
                 if conv.model.slot_az[slot] >= 0 else None}
        if tally is not None:
            own = tally.talk[slot] + tally.both
            still = tally.still[slot]
            gap = tally.median_gap_ms(slot)
            entry.update({
                "talk_s": _s(own - still, fps),
                "held_s": _s(still, fps),
                "share": round(own / talk_total, 4) if talk_total else None,
                "turns": tally.turns[slot],
                "longest_monologue_s": _s(tally.longest[slot], fps),
                "interruptions": tally.interruptions[slot],
                "response_gap_s": gap / 1000 if gap >= 0 else None,
                "level_db": round(tally.level_sum_db[slot] / tally.level_n[slot], 1)
                if tally.level_n[slot] else None,
            })
        talkers.append(entry)
    minutes = 0
    frames = conv._frames - conv._tail
    rec = {
        "schema": SCHEMA,
        "id": conv.record_id(),
        "device": conv.device_id,
        "boot": conv.boot,
        "session": conv.session_no,
        "start": conv.start_time,
        "uptime_s": conv.start_uptime_s,
        "clock_set": conv.start_clock_set,
        "duration_s": _s(frames, fps),
        "state": conv.state_name(),
        "end_reason": conv.end_reason or None,
        "initiator_bound_by": conv.bound_by or None,
        "talkers": talkers,
        "firmware": VERSION,
        "config": conv.session_cfg,
    }
    if tally is not None:
        minutes = frames / (60 * fps)
        band = tally.band_counts(ini, frames)
        rec.update({
            "overlap_s": _s(tally.both, fps),
            "silence_s": _s(max(0, tally.silence - conv._tail), fps),
            "unknown_s": _s(tally.unknown, fps),
            "speaker_changes_per_min": round(tally.changes / minutes, 2) if minutes else 0,
            "target_share": tally.target_pm / 1000,
            "band": tally.band_pm / 1000,
            # null, both, when the session never reached minute 5
            "in_band_s": _s(band[1], fps) if band else None,
            "in_band_share": round(band[1] / band[0], 4) if band else None,
            "heat": [[_s(a, fps), _s(min(b, frames), fps)] for a, b in tally.heat_episodes() if a < frames],
            "pacing": {"meeting_s": conv.meeting_s,
                       "over_s": max(0, frames // fps - conv.meeting_s)},
            "hearing": _hearing(conv),
        })
        if timeline:
            rec["timeline"] = list(_timeline_rows(conv))
    return rec


# the speech must stand this far over the noise floor (whole dB) for the
# shares to be trusted (docs/record.md, `hearing`): the estimate reads 3-4
# at a true 0 dB of diffuse noise, 5-6 at 5 dB
SNR_MIN_DB = 5
# ... and a microphone must not have been lost (the working ones other than
# those the talkers were learned with: no frame votes) for more than this
# per mille of the session (docs/record.md, `hearing.mic_lost_s`)
MIC_LOST_MAX_PM = 50


def _hearing(conv):
    """How well the session was heard (docs/record.md): the estimated SNR
    (the mean level of the frames given to one talker over the mean noise
    floor), how far a known noise source at a place was under the quieter
    talker (whole dB), the share of the speech given to a talker or to
    both (whole per mille), the share of the speech frames, once both
    talkers were known, with a vote for one of them (whole per mille), the
    share of the speech heard without a direction before they were known
    and shared out in proportion (whole per mille), the time the talkers
    could not be heard by direction because a microphone was lost, and
    whether the shares can be trusted: both talkers found, the speech
    SNR_MIN_DB over the noise, no microphone lost for more than
    MIC_LOST_MAX_PM of the session, and nothing Conversation.hearing_low
    finds (the session's trailing silence left out)."""
    tally = conv.tally
    heard = tally.talk[0] + tally.talk[1] + tally.both
    total = heard + tally.unknown
    pm = heard * 1000 // total if total else -1
    n = tally.level_n[0] + tally.level_n[1]
    snr = None
    seconds = conv._frames // conv.frames_per_s  # the noise floor's samples
    if n and seconds:
        snr = (tally.level_sum_db[0] + tally.level_sum_db[1]) // n - conv.noise_sum_db // seconds
    model = conv.model
    source = None
    if model.noise_az >= 0 and model.learned:
        # a noise source at a place (a TV, music): how far under the quieter
        # talker it is heard, whatever the floor between its sounds
        d0, d1 = model.slot_db_q8
        source = ((d1 if d1 < d0 else d0) - model.noise_db_q8) >> 8
    voted = model.votes * 1000 // model.heard if model.heard else -1  # each < 2^30
    # shared out only once both talkers are known (Conversation._fold_prefix)
    ap = -1 if not total else (0 if conv._prefix_pending else conv._prefix_nodir * 1000 // total)
    return {"snr_db": snr, "attributed": pm / 1000 if total else None,
            "voted": voted / 1000 if voted >= 0 else None,
            "apportioned": ap / 1000 if ap >= 0 else None,
            "mic_lost_s": _s(tally.lost, conv.frames_per_s),
            "noise_source_db": source,
            "reliable": model.learned and snr is not None and snr >= SNR_MIN_DB and not conv.hearing_low(conv._tail)
            and tally.lost * 1000 <= MIC_LOST_MAX_PM * (conv._frames - conv._tail)}


def _timeline_rows(conv):
    """Per minute of the record: [initiator s, partner s, overlap s,
    heat 0/1], one small list at a time."""
    tally = conv.tally
    fps = conv.frames_per_s
    ini = conv.initiator_slot if conv.initiator_slot >= 0 else 0
    rows = (conv._frames - conv._tail + 60 * fps - 1) // (60 * fps)
    for i in range(min(rows, tally.minutes)):
        m = tally.minute(i)
        yield [_s(m[ini], fps), _s(m[1 - ini], fps), _s(m[2], fps), m[3]]
    if rows > tally.minutes:
        m = tally.open_minute()
        if m is not None:
            yield [_s(m[ini], fps), _s(m[1 - ini], fps), _s(m[2], fps), m[3]]


def write(conv, out, now_s=None):
    """The record as JSON into stream `out` (a write(bytes) method), piece
    by piece: the timeline a minute at a time, never the whole text in
    the heap (a two-hour record is about 4 KB of JSON). The same record
    as json.dumps(record())."""
    _write(conv, record(conv, now_s, timeline=False), out)


class Writer:
    """One record written more than once, the same text each time (a save:
    the store counts the bytes first, then writes them): built once, when
    the writer is made, instead of at each pass."""

    def __init__(self, conv, now_s=None):
        self.conv = conv
        self.rec = record(conv, now_s, timeline=False)

    def write(self, out):
        _write(self.conv, self.rec, out)


def _write(conv, rec, out):
    out.write(b"{")
    sep = b""
    for key in rec:
        out.write(sep)
        json.dump(key, out)
        out.write(b": ")
        json.dump(rec[key], out)
        sep = b", "
    if conv.tally is not None:
        out.write(b', "timeline": [')
        sep = b""
        for row in _timeline_rows(conv):
            out.write(sep)
            json.dump(row, out)
            sep = b", "
        out.write(b"]")
    out.write(b"}")


def _s(frames, fps):
    return round(frames / fps, 2)
