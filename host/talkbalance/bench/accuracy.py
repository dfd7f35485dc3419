"""The accuracy runs: our fixed-point pipeline and its peers on the same scenes.

Scenes are simulated two-person conversations (talkbalance.scenesim: random
rooms, RT60 0.2-0.6 s, SNR 10-30 dB, any rotation), rendered once into a
cache folder and reused (talkbalance.scenecache). Per scene:

- ours: `analyze` (the firmware pipeline on the MicroPython unix port) gives
  the record and the per-frame attribution;
- peers (talkbalance.peers): webrtcvad modes 0-3 for voice activity; float
  GCC-PHAT, pyroomacoustics SRP-PHAT and MUSIC for direction, each fed with
  our voice activity and with webrtcvad's best mode (best F1 on the suite)
  into the firmware's own talker model and tally.

Every method is scored by the same function (talkbalance.scoring.score) and
its latency by the same rule (talkbalance.peers.latency). The peers' own
direction and voice-activity outputs are cached beside each scene, keyed by
the parameters that produce them. The tables and prose made of these runs
are in talkbalance.bench.report.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from talkbalance import boardfile, peers, scenecache, scoring
from talkbalance.analysis import analyze
from talkbalance.bench import Row
from talkbalance.errors import InputError

DEFAULT_SCENES = 4
DEFAULT_MINUTES = 3.0
PEERS_VERSION = 1  # bump when the peers' per-frame outputs change
OURS = "ours (fixed point, MicroPython)"

Progress = Callable[[str], None]


def _quiet(_text: str) -> None:
    return None


# --- per scene ---------------------------------------------------------------------

@dataclass
class SceneRun:
    name: str
    truth: dict
    audio_s: float
    ours_record: dict
    ours_codes: str
    ours_wall_s: float
    vad: dict[int, np.ndarray]          # webrtcvad mode -> decision per frame
    directions: dict[str, np.ndarray]   # method -> azimuth per frame (NaN: none)
    levels: np.ndarray
    cpu_s: dict[str, float]             # peer -> CPU seconds on this scene


def _peers_cache_key(board: dict) -> dict:
    return {"version": PEERS_VERSION, "grid_deg": peers.GRID_STEP_DEG, "stft": [peers.STFT_N, peers.STFT_HOP],
            "freq": list(peers.FREQ_RANGE_HZ), "gcc": [peers.GCC_NFFT, peers.GCC_STEP],
            "board": board.get("name", ""), "methods": list(peers.DOA_METHODS), "modes": list(peers.VAD_MODES)}


def run_scene(wav: Path, truth_path: Path, board: dict, progress: Progress = _quiet) -> SceneRun:
    truth = json.loads(truth_path.read_text())
    audio = scenecache.read_audio(wav)
    rate = int(board["sample_rate_hz"])
    name = wav.stem
    t0 = time.perf_counter()
    ours = analyze(wav, frames=True)
    ours_wall = time.perf_counter() - t0
    ours_speech = peers.codes_speech(ours.frames)
    frames = peers.frame_count(audio, rate)
    speech = np.zeros(frames, dtype=bool)
    speech[:len(ours_speech)] = ours_speech[:frames]

    cache_file = wav.with_suffix(".peers.npz")
    key = json.dumps(_peers_cache_key(board), sort_keys=True)
    cached = None
    if cache_file.is_file():
        try:
            with np.load(cache_file, allow_pickle=False) as z:
                if str(z["key"]) == key:
                    cached = {k: z[k] for k in z.files}
        except (OSError, ValueError, KeyError):
            cached = None
    vad: dict[int, np.ndarray] = {}
    directions: dict[str, np.ndarray] = {}
    cpu: dict[str, float] = {}
    if cached is not None:
        for mode in peers.VAD_MODES:
            vad[mode] = cached[f"vad{mode}"].astype(bool)
            cpu[f"webrtcvad-{mode}"] = float(cached[f"cpu_vad{mode}"])
        for method in peers.DOA_METHODS:
            directions[method] = cached[method]
            cpu[method] = float(cached[f"cpu_{method}"])
    else:
        for mode in peers.VAD_MODES:
            vad[mode], cpu[f"webrtcvad-{mode}"] = peers.timed(peers.webrtc_vad, audio, rate, mode)
        # Directions where any voice activity decision in the comparison says speech.
        mask = speech.copy()
        for decision in vad.values():
            mask[:len(decision)] |= decision[:frames]
        for method in peers.DOA_METHODS:
            progress(f"bench: {name}: {method} ...")
            directions[method], cpu[method] = peers.timed(peers.direction, method, audio, board, mask)
        arrays = {f"vad{m}": vad[m] for m in vad}
        arrays.update({f"cpu_vad{m}": np.array(cpu[f"webrtcvad-{m}"]) for m in vad})
        arrays.update(directions)
        arrays.update({f"cpu_{m}": np.array(cpu[m]) for m in directions})
        tmp = cache_file.with_name(cache_file.name + ".part.npz")
        np.savez(tmp, key=np.array(key), **arrays)
        tmp.replace(cache_file)
    return SceneRun(name, truth, frames * peers.FRAME_MS / 1000, ours.longest() or {}, ours.frames, ours_wall,
                    vad, directions, peers.levels_q8(audio, rate), cpu)


# --- the whole suite -----------------------------------------------------------------

@dataclass
class Method:
    name: str
    vad: str
    direction: str
    vad_f1: peers.F1 | None
    summary: scoring.Summary
    scores: list[scoring.SceneScore]
    latency: peers.Latency
    frame_az_error_deg: float | None  # median over single-talker frames with a direction
    host_cpu_ms_per_s: float | None
    unknown_pct: float = 0.0          # speech frames the talker model left "unknown"


@dataclass
class Comparison:
    scenes: list[str]
    minutes: float
    audio_s: float
    best_mode: int
    vad_f1: dict[str, peers.F1]     # "ours", "webrtcvad-N"
    methods: list[Method] = field(default_factory=list)
    seconds: float = 0.0

    def method(self, name: str) -> Method:
        return next(m for m in self.methods if m.name == name)


def _frame_az_error(run: SceneRun, az: np.ndarray) -> list[float]:
    true_az = {t["role"]: t["azimuth_deg"] for t in run.truth["talkers"]}
    codes = np.frombuffer(run.truth["frames"].encode(), dtype=np.uint8)[:len(az)]
    out = []
    for code, role in ((ord("1"), "initiator"), (ord("2"), "partner")):
        sel = (codes == code) & ~np.isnan(az[:len(codes)])
        d = np.abs((az[:len(codes)][sel] - true_az[role] + 180) % 360 - 180)
        out += d.tolist()
    return out


def _pooled_f1(runs: list[SceneRun], decision: Callable[[SceneRun], np.ndarray]) -> peers.F1:
    pred = np.concatenate([decision(r)[:len(r.truth["frames"])] for r in runs])
    truth = np.concatenate([peers.truth_speech(r.truth)[:len(decision(r))] for r in runs])
    return peers.f1_score(pred, truth)


def _unknown_pct(all_codes: list[str]) -> float:
    said = sum(len(c) - c.count("0") for c in all_codes)
    return round(100 * sum(c.count("4") for c in all_codes) / said, 1) if said else 0.0


def _merge_latency(items: list[peers.Latency]) -> peers.Latency:
    out = peers.Latency([], [], 0, 0)
    for item in items:
        out.frames += item.frames
        out.ms += item.ms
        out.changes += item.changes
        out.missed += item.missed
    return out


def _render_and_run(cache: Path, seed: int, minutes: float, board: dict) -> SceneRun:
    wav, truth = scenecache.ensure_scene(cache, seed, minutes)
    return run_scene(wav, truth, board)


def compare_methods(count: int = DEFAULT_SCENES, minutes: float = DEFAULT_MINUTES, cache: Path | None = None,
              board_path: str | None = None, progress: Progress = _quiet, jobs: int = 1) -> Comparison:
    """Render (or reuse) `count` scenes and score ours and the peers on them;
    `jobs` scenes at a time in separate processes."""
    if count < 1:
        raise InputError("--suite needs at least one scene")
    if not 0.5 <= minutes <= 60:
        raise InputError("--minutes must be from 0.5 to 60")
    t_start = time.perf_counter()
    cache = Path(cache) if cache else scenecache.default_cache()
    board = boardfile.load(board_path)
    runs = []
    if jobs > 1 and count > 1:
        from concurrent.futures import ProcessPoolExecutor

        progress(f"bench: {count} scenes, {jobs} at a time ...")
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_render_and_run, cache, seed, minutes, board) for seed in range(1, count + 1)]
            for seed, future in enumerate(futures, 1):
                runs.append(future.result())
                progress(f"bench: scene {seed}/{count} done")
    else:
        for seed in range(1, count + 1):
            wav, truth = scenecache.ensure_scene(cache, seed, minutes, progress)
            progress(f"bench: scene {seed}/{count}: ours and peers ...")
            runs.append(run_scene(wav, truth, board, progress))
    audio_s = sum(r.audio_s for r in runs)

    vad_f1 = {"ours": _pooled_f1(runs, lambda r: peers.codes_speech(r.ours_codes))}
    for mode in peers.VAD_MODES:
        vad_f1[f"webrtcvad-{mode}"] = _pooled_f1(runs, lambda r, m=mode: r.vad[m])
    best_mode = max(peers.VAD_MODES, key=lambda m: vad_f1[f"webrtcvad-{m}"].f1)
    comparison = Comparison([r.name for r in runs], minutes, audio_s, best_mode, vad_f1)

    scores = [scoring.score(r.name, r.ours_record, r.ours_codes, r.truth) for r in runs]
    lat = _merge_latency([peers.latency(r.ours_codes, r.ours_record, r.truth) for r in runs])
    comparison.methods.append(Method(OURS, "ours", "ours", vad_f1["ours"], scoring.summarise(scores), scores, lat,
                                 None, None, _unknown_pct([r.ours_codes for r in runs])))
    labels = {"gcc-phat": "GCC-PHAT (float, per pair)", "srp-phat": "SRP-PHAT (pyroomacoustics)",
              "music": "MUSIC (pyroomacoustics)"}
    for method in peers.DOA_METHODS:
        for vad_name in ("ours", f"webrtcvad-{best_mode}"):
            scores, lats, az_err, all_codes = [], [], [], []
            for r in runs:
                if vad_name == "ours":
                    speech = peers.codes_speech(r.ours_codes)
                else:
                    speech = r.vad[best_mode]
                n = min(len(speech), len(r.directions[method]))
                az = np.where(speech[:n], r.directions[method][:n], np.nan)
                run = peers.conversation(speech[:n], az, r.levels[:n])
                scores.append(scoring.score(r.name, run.record, run.codes, r.truth))
                lats.append(peers.latency(run.codes, run.record, r.truth))
                all_codes.append(run.codes)
                az_err += _frame_az_error(r, az)
            cpu_s = sum(r.cpu_s[method] for r in runs)
            if vad_name != "ours":
                cpu_s += sum(r.cpu_s[vad_name] for r in runs)
            comparison.methods.append(Method(
                labels[method], vad_name, method, vad_f1[vad_name], scoring.summarise(scores), scores,
                _merge_latency(lats), round(statistics.median(az_err), 1) if az_err else None,
                round(1000 * cpu_s / audio_s, 1), _unknown_pct(all_codes)))
    comparison.seconds = time.perf_counter() - t_start
    return comparison


def summary_rows(comparison: Comparison) -> list:
    """The suite's headline figures as bench rows, with the issue's targets."""
    ours = comparison.method(OURS)
    best_vad = comparison.vad_f1[f"webrtcvad-{comparison.best_mode}"].f1
    float_peers = [m for m in comparison.methods if m.name != OURS and m.vad == "ours"]
    best_peer = min(m.summary.share_error_median for m in float_peers)
    rows = [
        Row("accuracy", "scenes", len(comparison.scenes), "scenes"),
        Row("accuracy", "audio_minutes", round(comparison.audio_s / 60, 1), "min"),
        Row("accuracy", "vad_f1_ours", ours.vad_f1.f1 if ours.vad_f1 else 0.0, "F1", f">= {best_vad:.4f}"),
        Row("accuracy", f"vad_f1_webrtcvad_best_mode{comparison.best_mode}", best_vad, "F1"),
        Row("accuracy", "share_err_median_ours", ours.summary.share_error_median, "pts",
            f"<= {best_peer:.2f}"),
        Row("accuracy", "share_err_median_best_float_peer", best_peer, "pts"),
        Row("accuracy", "attribution_median_ours", ours.summary.attribution_median, "ratio"),
        Row("accuracy", "talker_az_err_median_ours", ours.summary.azimuth_error_median, "deg"),
    ]
    lat = ours.latency
    med = peers.percentile(lat.ms, 50)
    if med is not None:
        rows += [
            Row("latency", "median_frames", peers.percentile(lat.frames, 50), "frames"),
            Row("latency", "p95_frames", peers.percentile(lat.frames, 95), "frames"),
            Row("latency", "median_ms", med, "ms", "<= 300"),
            Row("latency", "p95_ms", peers.percentile(lat.ms, 95), "ms"),
        ]
    rows.append(Row("latency", "changes_shown_pct", round(100 * (lat.changes - lat.missed) / lat.changes, 1)
                    if lat.changes else 0.0, "pct"))
    return rows

