"""`talkbalance bench --only frontend` runs on MicroPython and reports the
front end's cost, heap and ESP32 estimate (the figures are measurements on
a shared machine; the target verdict is printed, not asserted here)."""

from __future__ import annotations

from talkbalance import bench


def test_frontend_section_reports_cost_heap_and_estimate():
    rows = {r.metric: r for r in bench.run_section("frontend")}
    cpu = rows["cpu_ms_per_audio_s"]
    assert cpu.target == "<= 2.5" and cpu.unit == "ms" and cpu.value > 0
    assert rows["heap_growth_1000_frames"].value == 0
    assert 0 < rows["heap_bytes"].value < 32 * 1024
    assert 0.3 <= rows["frames_correlated_share"].value <= 0.6
    assert rows["process_us_correlated_frame"].value > rows["process_us_other_frame"].value
    est = rows["esp32_est_ms_per_audio_s"].value
    assert abs(est - 50 * cpu.value) <= 1.0
    assert rows["cpu_ms_per_audio_s_every_frame_correlated"].value > cpu.value
