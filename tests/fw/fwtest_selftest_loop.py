# The self-test as the app runs it (tbfw.selftest.Job), on the chip-like
# board (tests/fwchip): the ESP32 board module with its 8 s watchdog, the
# I2S queue, flash erases that hold off the I2S interrupt, and a virtual
# clock. The button check waits 10 s for a press that never comes; the loop
# must feed the watchdog and read the audio all the while. The flash check
# cannot avoid losing audio (an erase stalls the I2S interrupt; the driver
# then keeps only the latest DMA buffer): the answer must report that loss.
from fwtest_chip import Host, Run, _app, _lost_truth  # noqa: I001 (sets up the stand-ins first)

import chip  # noqa: E402
import machine  # noqa: E402


def test_a_ten_second_button_wait_keeps_the_watchdog_fed_and_the_audio_flowing():
    c, a = _app()
    run = Run(c, a)
    run.frames(50)  # the watchdog is armed by the first frame
    wdt = machine.SIM["wdt"]
    assert wdt is not None and wdt.timeout == a.board.desc.get("wdt_ms", 8000)
    host = Host(c)
    lost0 = _lost_truth()
    overruns0 = a.overruns
    ident = host.send("selftest", {"tests": ["button", "leds", "mics", "flash"]})
    t0 = chip.now_us()
    frames = 0
    while ident not in host.answers and frames < 15 * 50:
        run.frames(1, host.poll)
        frames += 1
    msg = host.answers.get(ident)
    assert msg is not None and msg.kind == "ok", msg
    body = msg.body
    print("chip-figures selftest-loop frames=%d seconds=%d held_ms=%s worst_hold_us=%s lost=%d overruns=%d" % (
        frames, (chip.now_us() - t0) // 1000000, body["selftest"]["held_ms"], body["selftest"]["worst_hold_us"],
        _lost_truth() - lost0, a.overruns - overruns0))
    assert body["button"]["timeout"] is True and body["leds"]["ok"] and body["flash"]["ok"]
    assert body["ok"] is False  # no press
    assert frames >= 10 * 50  # the wait spanned the loop's frames, it did not hold one
    assert not wdt.expired  # fed every frame, never 8 s apart
    # each flash operation held the loop one erase (45 ms: a 2 KB write, then
    # the remove), far from the watchdog; what the erases cost the audio is
    # in the answer as the board counts it: within a DMA buffer (256 frames)
    # per bus for each second with an erase (docs/board.md, "Lost samples")
    assert 0 < body["selftest"]["worst_hold_us"] <= chip.ERASE_US
    lost = _lost_truth() - lost0
    buses = len(a.board.desc["i2s"])
    assert abs(body["selftest"]["lost_samples"] - lost) <= 2 * buses * 256, (body["selftest"], lost)
    assert a.overruns == overruns0  # the self-test's holds are not the loop's overruns
    c.uninstall()
