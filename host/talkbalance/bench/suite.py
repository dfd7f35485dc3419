"""The accuracy suite: our fixed-point pipeline and its peers on the same scenes.

Scenes are simulated two-person conversations (talkbalance.scene: random
rooms, RT60 0.2-0.6 s, SNR 10-30 dB, any rotation), rendered once into a
cache folder and reused. Per scene:

- ours: `analyze` (the firmware pipeline on the MicroPython unix port) gives
  the record and the per-frame attribution;
- peers (talkbalance.peers): webrtcvad modes 0-3 for voice activity; float
  GCC-PHAT, pyroomacoustics SRP-PHAT and MUSIC for direction, each fed with
  our voice activity and with webrtcvad's best mode (best F1 on the suite)
  into the firmware's own talker model and tally.

Every method is scored by the same function (talkbalance.evaluate.score) and
its latency by the same rule (talkbalance.peers.latency). The peers' own
direction and voice-activity outputs are cached beside each scene, keyed by
the parameters that produce them.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from talkbalance import board as boardmod
from talkbalance import evaluate, peers
from talkbalance.analyze import analyze
from talkbalance.errors import InputError, ToolMissing

DEFAULT_SCENES = 4
DEFAULT_MINUTES = 3.0
PEERS_VERSION = 1  # bump when the peers' per-frame outputs change
OURS = "ours (fixed point, MicroPython)"

Progress = Callable[[str], None]


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "talkbalance" / "scenes"


def _quiet(_text: str) -> None:
    return None


# --- scenes ----------------------------------------------------------------------

def scene_paths(cache: Path, seed: int, minutes: float) -> tuple[Path, Path]:
    stem = f"scene-{seed:03d}-{minutes:g}min"
    return cache / f"{stem}.wav", cache / f"{stem}.json"


def ensure_scene(cache: Path, seed: int, minutes: float, progress: Progress = _quiet) -> tuple[Path, Path]:
    """The scene's WAV and truth, rendered into `cache` unless already there."""
    wav, truth = scene_paths(cache, seed, minutes)
    if wav.is_file() and truth.is_file():
        try:
            cfg = json.loads(truth.read_text())["config"]
            if cfg["seed"] == seed and float(cfg["minutes"]) == minutes:
                return wav, truth
        except (ValueError, KeyError):
            pass
    try:
        from talkbalance import scene
    except ImportError as exc:
        raise ToolMissing(f"the scene simulator cannot run: {exc}", "pip install -e .[bench]") from None
    cache.mkdir(parents=True, exist_ok=True)
    progress(f"bench: rendering scene {seed} ({minutes:g} min) into {cache} ...")
    rendered = scene.render(scene.random_config(seed, minutes))
    tmp_wav, tmp_truth = wav.with_suffix(".wav.part"), truth.with_suffix(".json.part")
    scene.write(rendered, tmp_wav, tmp_truth)
    tmp_wav.replace(wav)
    tmp_truth.replace(truth)
    return wav, truth


def read_audio(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return data.reshape(-1, w.getnchannels())


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
    audio = read_audio(wav)
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
    summary: evaluate.Summary
    scores: list[evaluate.SceneScore]
    latency: peers.Latency
    frame_az_error_deg: float | None  # median over single-talker frames with a direction
    host_cpu_ms_per_s: float | None
    unknown_pct: float = 0.0          # speech frames the talker model left "unknown"


@dataclass
class SuiteReport:
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
    wav, truth = ensure_scene(cache, seed, minutes)
    return run_scene(wav, truth, board)


def run_suite(count: int = DEFAULT_SCENES, minutes: float = DEFAULT_MINUTES, cache: Path | None = None,
              board_path: str | None = None, progress: Progress = _quiet, jobs: int = 1) -> SuiteReport:
    """Render (or reuse) `count` scenes and score ours and the peers on them;
    `jobs` scenes at a time in separate processes."""
    if count < 1:
        raise InputError("--suite needs at least one scene")
    if not 0.5 <= minutes <= 60:
        raise InputError("--minutes must be from 0.5 to 60")
    t_start = time.perf_counter()
    cache = Path(cache) if cache else default_cache()
    board = boardmod.load(board_path)
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
            wav, truth = ensure_scene(cache, seed, minutes, progress)
            progress(f"bench: scene {seed}/{count}: ours and peers ...")
            runs.append(run_scene(wav, truth, board, progress))
    audio_s = sum(r.audio_s for r in runs)

    vad_f1 = {"ours": _pooled_f1(runs, lambda r: peers.codes_speech(r.ours_codes))}
    for mode in peers.VAD_MODES:
        vad_f1[f"webrtcvad-{mode}"] = _pooled_f1(runs, lambda r, m=mode: r.vad[m])
    best_mode = max(peers.VAD_MODES, key=lambda m: vad_f1[f"webrtcvad-{m}"].f1)
    report = SuiteReport([r.name for r in runs], minutes, audio_s, best_mode, vad_f1)

    scores = [evaluate.score(r.name, r.ours_record, r.ours_codes, r.truth) for r in runs]
    lat = _merge_latency([peers.latency(r.ours_codes, r.ours_record, r.truth) for r in runs])
    report.methods.append(Method(OURS, "ours", "ours", vad_f1["ours"], evaluate.summarise(scores), scores, lat,
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
                scores.append(evaluate.score(r.name, run.record, run.codes, r.truth))
                lats.append(peers.latency(run.codes, run.record, r.truth))
                all_codes.append(run.codes)
                az_err += _frame_az_error(r, az)
            cpu_s = sum(r.cpu_s[method] for r in runs)
            if vad_name != "ours":
                cpu_s += sum(r.cpu_s[vad_name] for r in runs)
            report.methods.append(Method(
                labels[method], vad_name, method, vad_f1[vad_name], evaluate.summarise(scores), scores,
                _merge_latency(lats), round(statistics.median(az_err), 1) if az_err else None,
                round(1000 * cpu_s / audio_s, 1), _unknown_pct(all_codes)))
    report.seconds = time.perf_counter() - t_start
    return report


# --- presentation -------------------------------------------------------------------

def _fmt(value: float | None, spec: str, dash: str = "-") -> str:
    return dash if value is None else format(value, spec)


def accuracy_rows(report: SuiteReport) -> list[list[str]]:
    """The comparison table: a header row, then one row per method."""
    head = ["method", "voice activity", "VAD F1", "share err median / max (pts)", "attribution median",
            "unknown speech", "talker az err median (deg)", "frame az err median (deg)", "initiator found",
            "latency median / p95 (ms)", "changes shown", "host CPU (ms per audio s)"]
    rows = [head]
    for m in report.methods:
        s, lat = m.summary, m.latency
        shown = lat.changes - lat.missed
        rows.append([
            m.name, m.vad, _fmt(m.vad_f1.f1 if m.vad_f1 else None, ".3f"),
            f"{s.share_error_median:.2f} / {s.share_error_max:.2f}", f"{100 * s.attribution_median:.1f}%",
            f"{m.unknown_pct:.1f}%", f"{s.azimuth_error_median:.1f}", _fmt(m.frame_az_error_deg, ".1f"),
            f"{s.initiator_found}/{s.scenes}",
            f"{_fmt(peers.percentile(lat.ms, 50), '.0f')} / {_fmt(peers.percentile(lat.ms, 95), '.0f')}",
            f"{shown}/{lat.changes}", _fmt(m.host_cpu_ms_per_s, ".1f", "see cost"),
        ])
    for mode in peers.VAD_MODES:
        f1 = report.vad_f1[f"webrtcvad-{mode}"]
        best = " (best)" if mode == report.best_mode else ""
        rows.append([f"webrtcvad mode {mode}{best}", "itself", f"{f1.f1:.3f}"] + [""] * 9)
    return rows


def format_text(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, r in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_markdown(rows: list[list[str]]) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = ["| " + " | ".join(esc(c) for c in rows[0]) + " |",
             "|" + "|".join("---" for _ in rows[0]) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def summary_rows(report: SuiteReport) -> list:
    """The suite's headline figures as bench rows, with the issue's targets."""
    from talkbalance.bench import Row

    ours = report.method(OURS)
    best_vad = report.vad_f1[f"webrtcvad-{report.best_mode}"].f1
    float_peers = [m for m in report.methods if m.name != OURS and m.vad == "ours"]
    best_peer = min(m.summary.share_error_median for m in float_peers)
    rows = [
        Row("accuracy", "scenes", len(report.scenes), "scenes"),
        Row("accuracy", "audio_minutes", round(report.audio_s / 60, 1), "min"),
        Row("accuracy", "vad_f1_ours", ours.vad_f1.f1 if ours.vad_f1 else 0.0, "F1", f">= {best_vad:.4f}"),
        Row("accuracy", f"vad_f1_webrtcvad_best_mode{report.best_mode}", best_vad, "F1"),
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


def _rows_markdown(rows: list) -> str:
    table = [["section", "metric", "value", "unit", "target", "verdict"]]
    for r in rows:
        table.append([r.section, r.metric, f"{r.value:.4g}", r.unit, r.target, r.verdict])
    return format_markdown(table)


def _value(rows: list, section: str, metric: str) -> float | None:
    return next((r.value for r in rows if r.section == section and r.metric == metric), None)


def closing_note(report: SuiteReport | None, rows: list) -> list[str]:
    """What the figures show against the issue's four claims, in sentences."""
    from talkbalance.bench import calibration

    notes = []
    if report is not None:
        ours = report.method(OURS)
        best_mode = report.best_mode
        best_vad = report.vad_f1[f"webrtcvad-{best_mode}"].f1
        f1 = ours.vad_f1.f1 if ours.vad_f1 else 0.0
        verdict = "meets" if f1 >= best_vad else "falls short of"
        notes.append(f"Voice activity: our frame F1 is {f1:.3f}, which {verdict} webrtcvad's best mode on this "
                     f"suite (mode {best_mode}, {best_vad:.3f}).")
        float_peers = sorted((m for m in report.methods if m.name != OURS and m.vad == "ours"),
                             key=lambda m: m.summary.share_error_median)
        best = float_peers[0]
        ours_err, peer_err = ours.summary.share_error_median, best.summary.share_error_median
        if ours_err <= peer_err:
            notes.append(f"Talk share: our median initiator share error is {ours_err:.2f} points, no worse than "
                         f"the best float peer on the same voice activity ({best.name}, {peer_err:.2f}).")
        else:
            notes.append(
                f"Talk share: our median initiator share error is {ours_err:.2f} points against {peer_err:.2f} "
                f"for {best.name} fed with the same voice activity and the same talker model. The gap is in "
                f"the direction stream: our attribution is {100 * ours.summary.attribution_median:.1f}% with "
                f"{ours.unknown_pct:.1f}% of speech frames left unknown, against "
                f"{100 * best.summary.attribution_median:.1f}% and {best.unknown_pct:.1f}% for the peer, while "
                f"the learned talker directions are about as good ({ours.summary.azimuth_error_median:.1f} vs "
                f"{best.summary.azimuth_error_median:.1f} degrees). The peer votes on every speech frame, "
                f"each from four STFT snapshots over 40 ms and all microphones at once; our front end votes "
                f"only on frames whose pair correlation peaks pass its confidence gate, from one 20 ms frame "
                f"per pair. Closing it would take more frames with a usable direction: correlating over "
                f"two frames (40 ms) with the previous frame's buffer, a lower gate on frames where both "
                f"pairs agree, or carrying the last direction through short gaps within a talker's burst; "
                f"each costs little next to the ingest stage.")
        lat = ours.latency
        med = peers.percentile(lat.ms, 50)
        if med is not None:
            verdict = "within" if med <= 300 else "over"
            notes.append(f"Latency: from a change of speaker to the ring showing the new talker, median "
                         f"{med:.0f} ms ({peers.percentile(lat.frames, 50):.0f} frames), 95th percentile "
                         f"{peers.percentile(lat.ms, 95):.0f} ms, {verdict} the 300 ms target; "
                         f"{lat.changes - lat.missed} of {lat.changes} changes were shown before the turn ended.")
            quick = sorted((m for m in report.methods if m.name != OURS and m.vad == "ours"
                            and peers.percentile(m.latency.ms, 50) is not None),
                           key=lambda m: peers.percentile(m.latency.ms, 50) or 0.0)
            if med > 300 and quick and (peers.percentile(quick[0].latency.ms, 50) or 0.0) <= 300:
                notes.append(
                    f"The same talker model shows a change in {peers.percentile(quick[0].latency.ms, 50):.0f} ms "
                    f"(median) when fed {quick[0].name} directions on every speech frame, so our delay comes "
                    f"from the direction stream, not the model's hysteresis alone: at a turn's start few of our "
                    f"frames carry a confident direction, and the model keeps direction-less speech with the "
                    f"previous talker for up to 15 frames (tbfw.talker _CARRY_FRAMES) before it needs two votes "
                    f"for the new one. More frames with a usable direction (see above) would shorten it.")
    total = _value(rows, "pipeline", "total_ms_per_audio_s")
    if total is not None:
        verdict = "within" if total <= 4 else "over"
        line = f"Cost: the whole firmware pipeline takes {total:.2f} ms of CPU per audio second on the unix port here, {verdict} the 4 ms target."
        try:
            cal = calibration.parse(rows)
        except ValueError:
            cal = None
        if cal is not None:
            ms = calibration.esp32_ms_per_audio_s(cal, calibration.stage_costs(rows))
            line += (f" Scaled by the measured calibration (bytecode {cal.bytecode_factor:.0f}x, native "
                     f"{cal.native_factor:.0f}x this port over one ESP32 core) it is about {ms / 10:.0f}% of a "
                     f"240 MHz ESP32 or ESP32-S3 core, an upper bound ({ms / 10 / calibration.CLOCK_CREDIT:.0f}% "
                     f"if the 240 MHz clock gains its full 50%); the issue's rough rule of 50x would give "
                     f"{total * 50 / 10:.0f}%.")
        stages = sorted(calibration.stage_costs(rows).items(), key=lambda kv: -kv[1])
        if stages:
            line += " By stage: " + ", ".join(f"{name} {ms:.2f} ms" for name, ms in stages) + "."
        notes.append(line)
    return notes


def markdown_report(report: SuiteReport | None, rows: list, command: str, info: dict) -> str:
    """docs/benchmarks.md: the command, the tables, the method and the closing note."""
    out = [
        "# Benchmarks",
        "",
        "Our fixed-point firmware pipeline beside what a user could pick instead, on the same simulated",
        "conversations, and what it costs. Regenerate this file from a checkout with:",
        "",
        "```sh",
        f".venv/bin/{command}",
        "```",
        "",
        f"Machine: {info.get('machine', '?')}; MicroPython unix port {info.get('micropython', '?')}. "
        "Cost figures are this process's CPU time (from /proc), so other programs' load moves them less "
        "than wall-clock time would, yet still by some 10-20% between runs (caches, frequency); each is "
        "the best of several runs. The accuracy figures are deterministic for a given firmware.",
        "",
    ]
    if report is not None:
        out += [
            "## Accuracy on the scene suite",
            "",
            f"{len(report.scenes)} scenes of {report.minutes:g} minutes ({report.audio_s / 60:.0f} minutes of "
            "audio): `talkbalance.scene.random_config(seed, minutes)` for seeds 1 to "
            f"{len(report.scenes)}: a shoebox room with RT60 0.2-0.6 s, a fan and diffuse noise at SNR "
            "10-30 dB, two talkers 90-180 degrees apart at 0.7-1.5 m, any rotation of the device, an "
            "initiator share of 20-50%. The suite took "
            f"{report.seconds / 60:.1f} minutes; the peers' outputs are cached beside the scenes, and a first "
            f"run also renders the scenes and runs the peers, about "
            f"{sum(m.host_cpu_ms_per_s or 0 for m in report.methods if m.vad == 'ours') * report.audio_s / 6e4:.0f}"
            " CPU-minutes more here.",
            "",
            format_markdown(accuracy_rows(report)),
            "",
            "- **VAD F1**: speech frames against the truth, pooled over the suite. Ours is the front end's",
            "  decision (the pipeline's frames that are not silence); webrtcvad runs on the channel mean.",
            "- **share err**: |estimated - true| initiator share, percentage points, per scene.",
            "- **attribution**: of the frames where exactly one person speaks (truth) and the method",
            "  heard speech, the share given to the right person (unknown and both count as wrong).",
            "- **unknown speech**: speech frames the talker model did not attribute.",
            "- **talker az err**: the learned talker directions against the truth (worst of the two).",
            "- **frame az err**: per-frame azimuth of the peers on single-talker frames.",
            "- **initiator found**: scenes where the initiator (default rule: whoever speaks first) was",
            "  bound to the right talker. A wrong binding swaps the roles: attribution falls towards zero",
            "  and the share error becomes that of the partner's share. A voice activity detector that",
            "  calls the fan speech before the first word makes the first-speaker rule pick a wrong",
            "  direction, since the peers vote on every frame called speech.",
            "- **latency**: from the first speech frame of a turn by the other person (turns of 1 s or",
            "  more) to the first frame attributed to that person, drawn at the next 40 ms ring frame.",
            "  A ring whose roles are swapped still lights the talker's own LED, so position counts.",
            "- Peers: GCC-PHAT per pair (1024-point FFT of the 40 ms ending with the frame, PHAT weight,",
            "  1/16-sample lag grid, least squares over the pairs); pyroomacoustics SRP-PHAT and MUSIC",
            f"  on all microphones ({peers.STFT_N}-point STFT, hop {peers.STFT_HOP}, "
            f"{peers.FREQ_RANGE_HZ[0]:.0f}-{peers.FREQ_RANGE_HZ[1]:.0f} Hz, {peers.GRID_STEP_DEG}-degree grid).",
            "  Each peer's azimuths go, frame by frame and with full confidence, into the firmware's own",
            "  talker model, tally and session lifecycle (tbfw.session.Conversation on CPython), with our",
            "  voice activity or with webrtcvad's best mode. Their host CPU is CPython and numpy on this",
            "  machine; none of them runs under MicroPython on the ESP32 (numpy, pyroomacoustics and the",
            "  webrtcvad C extension are not available there), so no ESP32 share is given for them.",
            "",
        ]
    out += [
        "## Cost, latency and targets",
        "",
        f"Cost audio: {info.get('cost_audio', '?')}.",
        "",
        _rows_markdown(rows),
        "",
        "- **pipeline**: `mp_pipeline.py`, the firmware's per-frame work on the MicroPython unix port,",
        "  split by stage: ingest (I2S words to Q15), front end (levels, voice activity, lags,",
        "  azimuth), conversation (talker model, tally, lifecycle), ring (state and a render at 25 fps),",
        "  link (an idle poll per frame). Heap: the pipeline's objects after set-up, the peak during",
        "  a frame, and the bytes a frame allocates.",
        "  `total` is CPU time; `wall` is the same passes by the wall clock.",
        "- **calibrate**: `mp_calibrate.py`, Pystone (the Dhrystone 1.1 workload in Python, its final",
        "  state checked) and a viper dot product against the same loop in bytecode, in CPU time.",
        "- **esp32 / esp32s3**: the scaling, measured here and against published figures:",
        f"  bytecode factor = Pystone here / {calibration_figures()['esp32_pystones']:,.0f} (MicroPython's",
        "  perf_bench Pystone on an ESP32 at 160 MHz, ESP32-NOTES.md; used for 240 MHz with no credit",
        "  for the faster clock, so the estimate is an upper bound; a second published figure, 1,661",
        "  at 240 MHz with the lighter pystone_lowmem, micropython issue #5673, agrees). Native factor",
        "  = bytecode factor x (viper speedup here / 16, the speedup on an ESP32-S3 in",
        "  ESP32-NOTES.md). Ingest and front end are scaled by the native factor, the rest by the",
        "  bytecode factor. No Pystone figure for the ESP32-S3 is published that we know of: its",
        "  240 MHz LX7 core is taken as equal to the ESP32's.",
        "",
        "## Closing note",
        "",
    ]
    out += [f"- {line}" for line in closing_note(report, rows)]
    out.append("")
    return "\n".join(out)


def calibration_figures() -> dict:
    from talkbalance.bench import calibration

    return {"esp32_pystones": calibration.ESP32_PYSTONES,
            "esp32_lowmem_240": calibration.ESP32_LOWMEM_240_PYSTONES,
            "esp32s3_viper_speedup": calibration.ESP32_S3_VIPER_SPEEDUP}
