"""The benchmark's report: the accuracy table, the Markdown page
(docs/benchmarks.md) and its closing note, made from the runs
(talkbalance.bench.accuracy) and the cost rows (talkbalance.bench)."""

from __future__ import annotations

from talkbalance import peers
from talkbalance.bench import calibration
from talkbalance.bench.accuracy import OURS, Comparison


def _fmt(value: float | None, spec: str, dash: str = "-") -> str:
    return dash if value is None else format(value, spec)


def accuracy_rows(comparison: Comparison) -> list[list[str]]:
    """The comparison table: a header row, then one row per method."""
    head = ["method", "voice activity", "VAD F1", "share err median / max (pts)", "attribution median",
            "unknown speech", "talker az err median (deg)", "frame az err median (deg)", "initiator found",
            "latency median / p95 (ms)", "changes shown", "host CPU (ms per audio s)"]
    rows = [head]
    for m in comparison.methods:
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
        f1 = comparison.vad_f1[f"webrtcvad-{mode}"]
        best = " (best)" if mode == comparison.best_mode else ""
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


def rows_markdown(rows: list) -> str:
    table = [["section", "metric", "value", "unit", "target", "verdict"]]
    for r in rows:
        table.append([r.section, r.metric, f"{r.value:.4g}", r.unit, r.target, r.verdict])
    return format_markdown(table)


def _value(rows: list, section: str, metric: str) -> float | None:
    return next((r.value for r in rows if r.section == section and r.metric == metric), None)


def closing_note(comparison: Comparison | None, rows: list) -> list[str]:
    """What the figures show against the issue's four claims, in sentences."""
    notes = []
    if comparison is not None:
        ours = comparison.method(OURS)
        best_mode = comparison.best_mode
        best_vad = comparison.vad_f1[f"webrtcvad-{best_mode}"].f1
        f1 = ours.vad_f1.f1 if ours.vad_f1 else 0.0
        verdict = "meets" if f1 >= best_vad else "falls short of"
        notes.append(f"Voice activity: our frame F1 is {f1:.3f}, which {verdict} webrtcvad's best mode on this "
                     f"suite (mode {best_mode}, {best_vad:.3f}).")
        float_peers = sorted((m for m in comparison.methods if m.name != OURS and m.vad == "ours"),
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
            quick = sorted((m for m in comparison.methods if m.name != OURS and m.vad == "ours"
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


def markdown_report(comparison: Comparison | None, rows: list, command: str, info: dict) -> str:
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
        "Cost figures are this process's CPU time (from /proc: the scheduler's nanosecond count where "
        "Linux gives it, else 10 ms ticks), so other programs' load moves them less "
        "than wall-clock time would, yet still by some 10-20% between runs (caches, frequency); each is "
        "the best of several runs. The accuracy figures are deterministic for a given firmware.",
        "",
    ]
    if comparison is not None:
        out += [
            "## Accuracy on the scene suite",
            "",
            f"{len(comparison.scenes)} scenes of {comparison.minutes:g} minutes ({comparison.audio_s / 60:.0f} minutes of "
            "audio): `talkbalance.scenesim.random_config(seed, minutes)` for seeds 1 to "
            f"{len(comparison.scenes)}: a shoebox room with RT60 0.2-0.6 s, a fan and diffuse noise at SNR "
            "10-30 dB, two talkers 90-180 degrees apart at 0.7-1.5 m, any rotation of the device, an "
            "initiator share of 20-50%. The suite took "
            f"{comparison.seconds / 60:.1f} minutes; the peers' outputs are cached beside the scenes, and a first "
            f"run also renders the scenes and runs the peers, about "
            f"{sum(m.host_cpu_ms_per_s or 0 for m in comparison.methods if m.vad == 'ours') * comparison.audio_s / 6e4:.0f}"
            " CPU-minutes more here.",
            "",
            format_markdown(accuracy_rows(comparison)),
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
        rows_markdown(rows),
        "",
        "- **pipeline**: `mp/bench/mp_pipeline.py`, the firmware's per-frame work on the MicroPython unix port,",
        "  split by stage: ingest (I2S words to Q15), front end (levels, voice activity, lags,",
        "  azimuth), conversation (talker model, tally, lifecycle), ring (state and a render at 25 fps),",
        "  link (an idle poll per frame). Heap: the pipeline's objects after set-up, the peak during",
        "  a frame, and the bytes a frame allocates.",
        "  `total` is CPU time of passes that run each frame as the app does (`Pipeline.step_i2s`, the",
        "  ring, a link poll) with no clock read inside, shared among the stages by their wall-clock",
        "  times in the frames no other program preempted in passes with a clock between the stages",
        "  (their own CPU time is `timed_pass`; both kinds of pass must attribute every frame alike, or",
        "  the section fails); `wall` is the timed passes by the wall clock. The bytecode stages split",
        "  further: `conversation_talker` (TalkerModel.update), `conversation_tally` (Tally.add) and",
        "  `conversation_session` (the rest of Conversation.frame) from a pass with those two methods",
        "  timed; `ring_show` (the state: Conversation.show or the idle and ended fallback) and",
        "  `ring_render` (RingDriver.update). `load_1min` is the load average at the end of the section.",
        "- **instructions**: `bench/instructions.py`, the pipeline's x86 instructions per audio second on",
        "  the unix port, counted by valgrind over a pass that runs each frame as the app does less one",
        "  that only reads the audio: the same figure on a busy machine, where CPU time moves by 5-15%;",
        "  with `--against REF`, the firmware at REF counted the same way and the ratio. Not the ESP32's",
        "  count (that is `chip`).",
        "- **calibrate**: `mp/bench/mp_calibrate.py`, Pystone (the Dhrystone 1.1 workload in Python, its final",
        "  state checked) and a viper dot product against the same loop in bytecode, in CPU time.",
        "- **heap32**: `talkbalance.bench.heap32`, the whole session (boot, 12 s of two talkers, then",
        "  a sync) on MicroPython's 32-bit webassembly port in a plain ESP32's heap (112,000 bytes)",
        "  plus the allowances measured there for what that heap holds and the ESP32's does not",
        "  (docs/memory.md, \"The 32-bit measurement\"); `peak_in_use_less_allowance` is the largest",
        "  heap in use at any moment less those. Skipped with a message without Node.js and the port.",
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
    out += [f"- {line}" for line in closing_note(comparison, rows)]
    out.append("")
    return "\n".join(out)


def calibration_figures() -> dict:
    return {"esp32_pystones": calibration.ESP32_PYSTONES,
            "esp32_lowmem_240": calibration.ESP32_LOWMEM_240_PYSTONES,
            "esp32s3_viper_speedup": calibration.ESP32_S3_VIPER_SPEEDUP}

