"""Peers on the same audio, the accuracy suite's scoring, tables and the calibration."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from talkbalance import bench, boardfile, paths, peers, scenecache, scoring
from talkbalance.bench import accuracy, calibration, instructions, report


def _angle(a, b):
    return np.abs((np.asarray(a) - b + 180) % 360 - 180)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 30 s simulated conversation (reverberant room, noise), written to disk."""
    scene = pytest.importorskip("talkbalance.scenesim")
    rendered = scene.render(scene.random_config(3, 0.5))
    root = tmp_path_factory.mktemp("tiny")
    wav = root / "tiny.wav"
    truth_path = scene.write(rendered, wav)
    return wav, json.loads(truth_path.read_text()), rendered.audio


# --- peers on a real (simulated) scene ---------------------------------------------

def test_webrtcvad_modes_find_the_speech(tiny):
    _, truth, audio = tiny
    speech = peers.truth_speech(truth)
    for mode in peers.VAD_MODES:
        decision = peers.webrtc_vad(audio, 16000, mode)
        assert len(decision) == len(truth["frames"])
        assert peers.f1_score(decision, speech).f1 > 0.8, mode


def test_directions_point_at_the_talkers(tiny):
    _, truth, audio = tiny
    desc = boardfile.load()
    codes = np.frombuffer(truth["frames"].encode(), dtype=np.uint8)
    true_az = {ord("1"): truth["talkers"][0]["azimuth_deg"], ord("2"): truth["talkers"][1]["azimuth_deg"]}
    single = np.isin(codes, [ord("1"), ord("2")])
    subset = single & (np.arange(len(codes)) % 6 == 0)  # pyroomacoustics is slow: every 6th frame
    for method in peers.DOA_METHODS:
        mask = single if method == "gcc-phat" else subset
        az = peers.direction(method, audio, desc, mask)
        assert np.isnan(az[~mask]).all()
        errors = [_angle(az[i], true_az[codes[i]]) for i in np.flatnonzero(mask)]
        assert np.median(errors) < 15, (method, np.median(errors))


def test_peer_stream_through_the_firmware_talker_model(tiny):
    _, truth, audio = tiny
    speech = peers.webrtc_vad(audio, 16000, 2)
    az = peers.gcc_phat(audio, boardfile.load(), speech)
    run = peers.conversation(speech, az, peers.levels_q8(audio, 16000))
    assert len(run.codes) == len(speech) and set(run.codes) <= set("01234")
    score = scoring.score("tiny", run.record, run.codes, truth)
    assert score.azimuth_error_deg is not None and score.azimuth_error_deg < 15
    assert score.share_error_pts is not None and score.share_error_pts < 15
    assert score.attribution > 0.5
    lat = peers.latency(run.codes, run.record, truth)
    assert lat.changes >= 1 and len(lat.ms) == lat.changes - lat.missed
    assert all(f >= 1 for f in lat.frames) and all(ms >= 20 for ms in lat.ms)


def test_suite_runs_ours_and_peers_on_a_cached_scene(tiny, tmp_path, monkeypatch):
    wav, truth, _ = tiny
    cache = tmp_path / "cache"
    cache.mkdir()
    dest_wav, dest_truth = scenecache.scene_paths(cache, 1, 0.5)
    dest_wav.write_bytes(wav.read_bytes())
    doc = dict(truth, config=dict(truth["config"], seed=1))
    dest_truth.write_text(json.dumps(doc))
    monkeypatch.setattr(peers, "DOA_METHODS", ("gcc-phat",))
    comparison = accuracy.compare_methods(1, 0.5, cache)
    assert [m.direction for m in comparison.methods] == ["ours", "gcc-phat", "gcc-phat"]
    ours = comparison.method(accuracy.OURS)
    assert 0.5 < ours.vad_f1.f1 <= 1
    assert (cache / "scene-001-0.5min.peers.npz").is_file()
    again = accuracy.compare_methods(1, 0.5, cache)  # from the cached peers' outputs
    assert again.methods[1].summary == comparison.methods[1].summary
    rows = {r.metric: r for r in accuracy.summary_rows(comparison)}
    assert rows["vad_f1_ours"].target.startswith(">= ")
    assert rows["share_err_median_ours"].verdict in ("ok", "OVER")


# --- scoring pieces -------------------------------------------------------------------

def test_f1_counts_frames():
    pred = np.array([1, 1, 0, 0, 1], bool)
    truth = np.array([1, 0, 0, 1, 1], bool)
    f = peers.f1_score(pred, truth)
    assert (f.precision, f.recall, f.f1) == (round(2 / 3, 4), round(2 / 3, 4), round(2 / 3, 4))


def _truth(frames, segments):
    return {"frames": frames, "frame_ms": 20, "segments": segments,
            "talkers": [{"role": "initiator", "azimuth_deg": 90.0}, {"role": "partner", "azimuth_deg": 270.0}]}


def _record(ini_az, par_az):
    return {"talkers": [{"role": "initiator", "azimuth_deg": ini_az}, {"role": "partner", "azimuth_deg": par_az}]}


def test_latency_from_change_of_speaker_to_ring():
    # initiator talks frames 0-99, the partner from frame 110 (2.2 s) to 199
    frames = "1" * 100 + "0" * 10 + "2" * 90
    truth = _truth(frames, [[0.0, 2.0, "initiator", "turn"], [2.1, 4.0, "partner", "turn"]])
    codes = "1" * 100 + "0" * 10 + "4" * 5 + "2" * 85  # shown at frame 115: 6 frames after onset
    lat = peers.latency(codes, _record(90, 270), truth)
    assert (lat.changes, lat.missed, lat.frames) == (1, 0, [6])
    assert lat.ms == [(-(-(116 * 20) // 40) * 40) - 110 * 20]  # the next 40 ms ring frame
    # roles swapped in the record: the ring still lights the talker's own LED
    swapped = codes.replace("1", "x").replace("2", "1").replace("x", "2")
    assert peers.latency(swapped, _record(270, 90), truth).frames == [6]
    # never shown within the turn: missed
    assert peers.latency("1" * 200, _record(90, 270), truth).missed == 1


def test_latency_ignores_short_turns_and_same_speaker():
    frames = "1" * 100 + "2" * 20 + "1" * 80
    truth = _truth(frames, [[0.0, 2.0, "initiator", "turn"], [2.0, 2.4, "partner", "turn"],
                            [2.4, 4.0, "initiator", "turn"]])
    lat = peers.latency(frames, _record(90, 270), truth)
    assert lat.changes == 0


# --- tables ---------------------------------------------------------------------------

def _fake_comparison():
    summary = scoring.Summary(2, 1.5, 3.0, 0.9, 0.8, 2.0, 4.0, 2, 0.95, None, None)
    lat = peers.Latency([5, 7], [120.0, 160.0], 3, 1)
    f1 = peers.F1(0.9, 0.95, 0.924)
    comparison = accuracy.Comparison(["a", "b"], 3.0, 360.0, 2, {"ours": f1, **{
        f"webrtcvad-{m}": peers.F1(0.9, 0.9, 0.9 - m / 100) for m in peers.VAD_MODES}})
    comparison.methods.append(accuracy.Method(accuracy.OURS, "ours", "ours", f1, summary, [], lat, None, None, 12.5))
    comparison.methods.append(accuracy.Method("MUSIC | x", "ours", "music", f1, summary, [], lat, 6.0, 120.0, 3.0))
    return comparison


def test_accuracy_table_text_and_markdown():
    rows = report.accuracy_rows(_fake_comparison())
    assert len({len(r) for r in rows}) == 1
    text = report.format_text(rows)
    lines = text.splitlines()
    assert lines[0].startswith("method") and set(lines[1]) <= {"-", " "}
    assert "140 / 158" in lines[2] and "2/3" in lines[2] and "12.5%" in lines[2]
    assert "webrtcvad mode 0 (best)" not in text and "webrtcvad mode 2 (best)" in text
    md = report.format_markdown(rows)
    assert md.splitlines()[1].startswith("|---") and "MUSIC \\| x" in md
    assert all(line.count("|") - line.count("\\|") == len(rows[0]) + 1 for line in md.splitlines())


def test_markdown_report_has_the_command_tables_and_verdicts():
    comparison = _fake_comparison()
    rows = bench.parse("@@BENCH pipeline ingest_ms_per_audio_s 1.0 ms\n"
                       "@@BENCH pipeline total_ms_per_audio_s 3.5 ms target <= 4\n"
                       "@@BENCH calibrate pystones_per_s 90100 pystones/s\n"
                       "@@BENCH calibrate viper_speedup 16 x\n")
    rows += calibration.derived_rows(rows) + accuracy.summary_rows(comparison)
    text = report.markdown_report(comparison, rows, "talkbalance bench --suite 2 --minutes 3", {"machine": "m"})
    assert ".venv/bin/talkbalance bench --suite 2 --minutes 3" in text
    assert "## Accuracy on the scene suite" in text and "## Closing note" in text
    assert "| pipeline | total_ms_per_audio_s | 3.5 | ms | <= 4 | ok |" in text
    assert "within the 4 ms target" in text and "about 5% of a" in text  # 1 ms x 50 (90,100 / 1,802)


# --- calibration --------------------------------------------------------------------

def test_calibration_parser_and_scaling():
    rows = bench.parse("@@BENCH calibrate pystones_per_s 90100 pystones/s\n"
                       "@@BENCH calibrate viper_speedup 32 x\n"
                       "@@BENCH pipeline ingest_ms_per_audio_s 1.0 ms\n"
                       "@@BENCH pipeline conversation_ms_per_audio_s 2.0 ms\n"
                       "@@BENCH pipeline total_ms_per_audio_s 3.0 ms target <= 4\n"
                       "@@BENCH pipeline wall_ms_per_audio_s 3.5 ms\n")
    cal = calibration.parse(rows)
    assert cal.bytecode_factor == pytest.approx(90100 / 1802)
    assert cal.native_factor == pytest.approx(2 * 90100 / 1802)  # viper gains twice as much here
    assert calibration.stage_costs(rows) == {"ingest": 1.0, "conversation": 2.0}
    ms = calibration.esp32_ms_per_audio_s(cal, calibration.stage_costs(rows))
    assert ms == pytest.approx(1.0 * 100 + 2.0 * 50)
    derived = {(r.section, r.metric): r for r in calibration.derived_rows(rows)}
    assert derived[("esp32", "est_core_pct_240mhz")].value == pytest.approx(20.0)
    assert derived[("esp32", "est_core_pct_240mhz")].verdict == "ok"
    assert derived[("esp32s3", "est_core_pct_240mhz_clock_credit")].value == pytest.approx(20 / 1.5, abs=0.01)
    with pytest.raises(ValueError, match="viper_speedup"):
        calibration.parse(bench.parse("@@BENCH calibrate pystones_per_s 90100 pystones/s\n"))


def test_calibrate_section_measures_on_micropython():
    rows = {r.metric: r.value for r in bench.run_section("calibrate")}
    assert rows["pystones_per_s"] > 1000
    assert rows["viper_speedup"] > 2
    assert rows["kernel_viper_us"] < rows["kernel_bytecode_us"]


@pytest.mark.skipif(instructions.available() is not None and not os.environ.get("TALKBALANCE_REQUIRE_TOOLS"),
                    reason=str(instructions.available()))
def test_the_pipelines_instructions_are_counted_the_same_every_time(tiny, monkeypatch, tmp_path):
    import shutil

    from talkbalance.bench import against

    wav, _, _ = tiny
    audio_s, first = instructions.count(paths.firmware_dir(), str(wav))
    _, second = instructions.count(paths.firmware_dir(), str(wav))
    assert audio_s == pytest.approx(30, abs=0.1)
    # the unix port's pipeline: about 20 million x86 instructions per audio second here
    assert 5e6 < first < 80e6
    assert second == pytest.approx(first, rel=0.002)  # what timing cannot give on a shared machine
    # --against REF counts the firmware at REF the same way: here a copy of this one
    copy = shutil.copytree(paths.firmware_dir(), tmp_path / "firmware")
    monkeypatch.setattr(against, "firmware_at", lambda ref, dest: copy)
    rows = {r.metric: r for r in instructions.rows(str(wav), "REF")}
    assert rows["ratio_pipeline_x86_instructions"].value == pytest.approx(1.0, abs=0.002)
    assert rows["pipeline_x86_minstr_per_audio_s"].value == pytest.approx(first / 1e6, rel=0.002)


def test_pipeline_section_on_a_recording(tiny):
    wav, _, _ = tiny
    rows = {r.metric: r for r in bench.run_section("pipeline", args=[str(wav)])}
    assert rows["audio_seconds"].value == pytest.approx(30, abs=0.1)
    stages = [rows[f"{s}_ms_per_audio_s"].value for s in ("ingest", "frontend", "conversation", "ring", "link")]
    assert all(v > 0 for v in stages)
    assert rows["total_ms_per_audio_s"].value == pytest.approx(sum(stages), abs=0.01)
    assert rows["total_ms_per_audio_s"].target == "<= 4"
    assert rows["heap_peak_bytes"].value >= rows["heap_setup_bytes"].value > 0
