"""From cost on the MicroPython unix port to a share of an ESP32 core.

Method (docs/benchmarks.md states it with the figures):

1. mp_calibrate.py measures, on this machine's unix port, the Pystone score
   (bytecode: calls, attributes, strings, lists) and how much faster a viper
   kernel runs than the same loop in bytecode.
2. The published score of MicroPython on the ESP32 is 1,802 pystones/s at
   160 MHz (perf_bench misc_pystone; ESP32-NOTES.md, beside the unix port's
   83,860 on an older x86 laptop). It is used for a 240 MHz core too, giving
   no credit for the faster clock (up to ~50% on compute-bound code), so the
   estimate is an upper bound. A second published figure, 1,661 pystones/s at
   240 MHz with the lighter pystone_lowmem (micropython issue #5673), agrees
   (the lowmem variant scores about 17% lower than Pystone on the unix port,
   micropython-lib pull request #65).
3. Bytecode factor = pystones here / 1,802. Native factor = bytecode factor
   x (viper speedup here / viper speedup on the ESP32-S3, ~16, ESP32-NOTES.md):
   native code gains more over bytecode on x86-64 than on the Xtensa core,
   so viper-heavy stages are scaled by the larger factor.
4. Stages that are mostly viper (ingest, front end) take the native factor,
   the others (talker model and tally, ring, link) the bytecode factor.
5. No MicroPython Pystone figure for the ESP32-S3 is published that we know
   of; its LX7 core at 240 MHz is taken as equal to the ESP32's (an upper
   bound on cost again).
"""

from __future__ import annotations

from dataclasses import dataclass

from talkbalance.bench import Row

ESP32_PYSTONES = 1802.0          # ESP32 @ 160 MHz, used for 240 MHz (no clock credit)
ESP32_LOWMEM_240_PYSTONES = 1661.0  # ESP32 @ 240 MHz, pystone_lowmem, micropython#5673 (cross-check)
ESP32_S3_VIPER_SPEEDUP = 16.0    # viper over bytecode on an ESP32-S3 (ESP32-NOTES.md)
NATIVE_STAGES = ("ingest", "frontend")
BYTECODE_STAGES = ("conversation", "ring", "link")
CLOCK_CREDIT = 1.5               # 160 -> 240 MHz on compute-bound code, at best (ESP32-NOTES.md)
TARGET_CORE_PCT = 20.0           # the "about a fifth of a core"


@dataclass
class Calibration:
    pystones: float          # measured here
    viper_speedup: float     # measured here

    @property
    def bytecode_factor(self) -> float:
        return self.pystones / ESP32_PYSTONES

    @property
    def native_factor(self) -> float:
        return self.bytecode_factor * self.viper_speedup / ESP32_S3_VIPER_SPEEDUP


def parse(rows: list[Row]) -> Calibration:
    """The calibration from the `calibrate` section's rows."""
    values = {r.metric: r.value for r in rows if r.section == "calibrate"}
    missing = [m for m in ("pystones_per_s", "viper_speedup") if m not in values]
    if missing:
        raise ValueError("calibration rows missing: " + ", ".join(missing))
    if values["pystones_per_s"] <= 0 or values["viper_speedup"] <= 0:
        raise ValueError("calibration values must be positive")
    return Calibration(values["pystones_per_s"], values["viper_speedup"])


def stage_costs(rows: list[Row]) -> dict[str, float]:
    """Pipeline stage -> ms of CPU per audio second on the unix port."""
    suffix = "_ms_per_audio_s"
    stages = NATIVE_STAGES + BYTECODE_STAGES
    return {r.metric[:-len(suffix)]: r.value for r in rows
            if r.section == "pipeline" and r.metric.endswith(suffix) and r.metric[:-len(suffix)] in stages}


def esp32_ms_per_audio_s(cal: Calibration, stages: dict[str, float]) -> float:
    """Estimated ms of one 240 MHz core per audio second."""
    total = 0.0
    for stage, ms in stages.items():
        total += ms * (cal.native_factor if stage in NATIVE_STAGES else cal.bytecode_factor)
    return total


def derived_rows(rows: list[Row]) -> list[Row]:
    """ESP32 and ESP32-S3 estimates from the calibrate and pipeline sections' rows."""
    cal = parse(rows)
    stages = stage_costs(rows)
    out = [
        Row("esp32", "port_over_esp32_bytecode", round(cal.bytecode_factor, 2), "x"),
        Row("esp32", "port_over_esp32_native", round(cal.native_factor, 2), "x"),
    ]
    if not stages:
        return out
    ms = esp32_ms_per_audio_s(cal, stages)
    for chip in ("esp32", "esp32s3"):
        out.append(Row(chip, "est_core_ms_per_audio_s", round(ms, 1), "ms"))
        out.append(Row(chip, "est_core_pct_240mhz", round(ms / 10, 2), "pct", f"<= {TARGET_CORE_PCT:g}"))
        out.append(Row(chip, "est_core_pct_240mhz_clock_credit", round(ms / 10 / CLOCK_CREDIT, 2), "pct"))
    return out
