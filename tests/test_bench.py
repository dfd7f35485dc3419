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
