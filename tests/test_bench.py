"""The benchmark runner: parsing, verdicts, and one real MicroPython section."""

from __future__ import annotations

from talkbalance import bench


def test_parse_and_verdicts():
    rows = bench.parse("noise\n@@BENCH fe cpu_ms_per_s 2.1 ms target <= 2.5\n"
                       "@@BENCH fe f1 0.8 ratio target >= 0.9\n@@BENCH fe heap 100 bytes\n")
    assert [(r.metric, r.verdict) for r in rows] == [("cpu_ms_per_s", "ok"), ("f1", "OVER"), ("heap", "")]


def test_startup_section_runs_on_micropython():
    rows = {r.metric: r for r in bench.run_section("startup")}
    assert rows["import_and_board_ms"].value > 0
    assert rows["resting_heap_bytes"].unit == "bytes"


def test_calibration_brackets_the_pipeline():
    from talkbalance.commands.bench import bracket_calibration

    before = [bench.Row("calibrate", "pystones_per_s", 100000, "pystones/s"),
              bench.Row("calibrate", "viper_speedup", 16, "x"), bench.Row("pipeline", "total_ms_per_audio_s", 3, "ms")]
    after = [bench.Row("calibrate", "pystones_per_s", 140000, "pystones/s"), bench.Row("calibrate", "viper_speedup", 18, "x")]
    rows = {r.metric: r.value for r in bracket_calibration(before, after)}
    assert rows["pystones_per_s"] == 120000 and rows["viper_speedup"] == 17
    assert rows["pystones_per_s_before"] == 100000 and rows["pystones_per_s_after"] == 140000
    assert rows["total_ms_per_audio_s"] == 3


def test_heap32_section_skips_cleanly_without_the_32_bit_port(monkeypatch, capsys):
    from talkbalance.bench import heap32
    from talkbalance.cli import main

    monkeypatch.setattr(heap32, "available", lambda: "Node.js is not installed")
    assert main(["bench", "--only", "heap32", "--suite", "0"]) == 0
    captured = capsys.readouterr()
    assert "heap32 skipped" in captured.err and "Node.js is not installed" in captured.err
    assert "heap32 " not in captured.out


def test_against_takes_each_sides_least_and_their_ratio():
    from talkbalance.bench import against

    runs = {"ref": [{"ring_ms_per_audio_s": 0.40, "load_1min": 3.0}, {"ring_ms_per_audio_s": 0.30, "load_1min": 2.5}],
            "here": [{"ring_ms_per_audio_s": 0.21, "load_1min": 3.1}, {"ring_ms_per_audio_s": 0.24, "load_1min": 2.0}]}
    rows = {r.metric: r.value for r in against.rows_from("main", runs)}
    assert rows["ref_ring_ms_per_audio_s"] == 0.30 and rows["here_ring_ms_per_audio_s"] == 0.21
    assert rows["ratio_ring"] == 0.7
    assert rows["load_1min_ref_2"] == 2.5 and rows["load_1min_here_1"] == 3.1
    assert rows["rounds"] == 2
    text = against.markdown(against.rows_from("main", runs), "main", "talkbalance bench --against main")
    assert "| ring | 0.300 | 0.210 | 0.70 |" in text
    assert "3.0, 2.5 (main); 3.1, 2.0 (here)" in text


def test_against_reads_the_firmware_of_a_revision(tmp_path):
    import pytest
    from talkbalance import paths
    from talkbalance.bench import against
    from talkbalance.errors import InputError

    if paths.checkout_dir() is None or not (paths.checkout_dir() / ".git").exists():
        pytest.skip("not a git checkout")
    fw = against.firmware_at("HEAD", tmp_path)
    assert (fw / "main.py").is_file() and (fw / "tbfw" / "ring.py").is_file()
    with pytest.raises(InputError):
        against.firmware_at("no-such-revision-here", tmp_path / "x")
