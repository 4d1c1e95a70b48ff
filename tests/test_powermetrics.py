"""powermetrics (Apple): sudo -n only, and the parser/integrator driven with recorded plist output."""

from __future__ import annotations

import io
import threading

import pytest

from codecarbon.hardware.powermetrics import (
    PlistStream,
    PowermetricsSession,
    detect_powermetrics,
    powermetrics_command,
    sample_energy,
)

# Two samples as `powermetrics --samplers cpu_power,gpu_power -i 1000 -f plist` writes them on an M1 Mac
# (trimmed: the per-cluster and per-CPU arrays are shortened), each followed by a NUL byte.
SAMPLE_1 = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
<key>is_delta</key><true/>
<key>elapsed_ns</key><integer>1004512042</integer>
<key>hw_model</key><string>MacBookPro17,1</string>
<key>kern_osversion</key><string>22G91</string>
<key>timestamp</key><date>2024-03-05T10:12:31Z</date>
<key>processor</key>
<dict>
<key>clusters</key>
<array>
<dict><key>name</key><string>E-Cluster</string><key>freq_hz</key><real>1145.19</real><key>idle_ratio</key><real>0.71</real></dict>
<dict><key>name</key><string>P-Cluster</string><key>freq_hz</key><real>2064.0</real><key>idle_ratio</key><real>0.93</real></dict>
</array>
<key>ane_energy</key><integer>0</integer>
<key>cpu_energy</key><integer>1523</integer>
<key>gpu_energy</key><integer>87</integer>
<key>combined_power</key><real>1608.4</real>
</dict>
<key>gpu</key>
<dict>
<key>freq_hz</key><real>389.0</real>
<key>idle_ratio</key><real>0.96</real>
<key>gpu_energy</key><integer>87</integer>
</dict>
</dict>
</plist>
\x00"""

SAMPLE_2 = SAMPLE_1.replace(b"<integer>1523</integer>", b"<integer>4210</integer>").replace(
    b"<key>gpu_energy</key><integer>87</integer>", b"<key>gpu_energy</key><integer>2390</integer>")

RECORDED = SAMPLE_1 + SAMPLE_2
RECORDED_CPU_J = (1523 + 4210) / 1000
RECORDED_GPU_J = (87 + 2390) / 1000


class FakeProcess:
    """A started process whose stdout replays recorded bytes in small reads, then ends."""

    def __init__(self, data: bytes, returncode: int = 0, chunk: int = 97,
                 gate: threading.Event | None = None) -> None:
        self.stdout = _Chunked(data, chunk, gate)
        self.returncode = returncode
        self.terminated = False

    def poll(self):
        return self.returncode if self.stdout.done or self.terminated else None

    def terminate(self):
        self.terminated = True

    def kill(self):
        self.terminated = True

    def wait(self, timeout=None):
        return self.returncode


class _Chunked(io.RawIOBase):
    def __init__(self, data: bytes, chunk: int, gate: threading.Event | None) -> None:
        self._data, self._chunk, self.done, self._gate = data, chunk, False, gate

    def read1(self, size: int = -1) -> bytes:
        if self._gate is not None:
            self._gate.wait(10)  # powermetrics writes its first sample one interval after it starts
        piece, self._data = self._data[:self._chunk], self._data[self._chunk:]
        self.done = not piece
        return piece


class FakeRunner:
    """Answers `sudo -n -l powermetrics` and starts a FakeProcess; records every command."""

    def __init__(self, sudo_code: int = 0, sudo_output: str = "/usr/bin/powermetrics\n",
                 output: bytes = RECORDED, returncode: int = 0) -> None:
        self.sudo_code, self.sudo_output = sudo_code, sudo_output
        self.output, self.returncode = output, returncode
        self.commands: list[list[str]] = []
        self.processes: list[FakeProcess] = []
        self.gate: threading.Event | None = None

    def run(self, argv, timeout):
        self.commands.append(list(argv))
        return self.sudo_code, self.sudo_output

    def start(self, argv):
        self.commands.append(list(argv))
        process = FakeProcess(self.output, self.returncode, gate=self.gate)
        self.processes.append(process)
        return process


def test_without_sudo_rights_it_falls_back_and_says_how_to_fix(codecarbon_log):
    runner = FakeRunner(sudo_code=1, sudo_output="sudo: a password is required\n")
    assert detect_powermetrics(runner=runner, platform="darwin") == []
    assert runner.processes == []  # powermetrics itself never started
    assert all(cmd[:2] == ["sudo", "-n"] for cmd in runner.commands)  # never a prompting sudo
    assert "a password is required" in codecarbon_log.text and "NOPASSWD" in codecarbon_log.text
    detect_powermetrics(runner=runner, platform="darwin")
    assert codecarbon_log.text.count("NOPASSWD") == 1  # logged once


def test_not_a_mac_means_nothing_and_no_command():
    runner = FakeRunner()
    assert detect_powermetrics(runner=runner, platform="linux") == []
    assert runner.commands == []


def test_recorded_output_is_integrated_into_cpu_and_gpu_energy():
    runner = FakeRunner()
    runner.gate = threading.Event()
    cpu, gpu = detect_powermetrics(runner=runner, platform="darwin")
    assert (cpu.component, gpu.component) == ("cpu", "gpu")
    assert cpu.method == gpu.method == "powermetrics"
    cpu.open()
    gpu.open()
    runner.gate.set()
    assert len(runner.processes) == 1  # one process serves both sources
    assert runner.commands[-1] == powermetrics_command(1000)
    assert runner.commands[-1][:2] == ["sudo", "-n"]
    assert cpu.session.wait_for_end_of_output()
    assert cpu.read_joules() == pytest.approx(RECORDED_CPU_J)
    assert gpu.read_joules() == pytest.approx(RECORDED_GPU_J)
    cpu.close()
    gpu.close()
    assert cpu.read_joules() == pytest.approx(RECORDED_CPU_J)  # never decreases after close


def test_stream_splits_samples_across_reads():
    stream = PlistStream()
    samples = []
    for i in range(0, len(RECORDED), 13):
        samples += stream.feed(RECORDED[i:i + 13])
    samples += stream.flush()
    assert len(samples) == 2
    assert sample_energy(samples[0]) == pytest.approx((1.523, 0.087))


def test_power_fields_are_integrated_over_the_sample_interval():
    sample = {"elapsed_ns": 500_000_000, "processor": {"cpu_power": 3000.0}, "gpu": {"gpu_power": 800.0}}
    assert sample_energy(sample) == pytest.approx((1.5, 0.4))
    intel = {"elapsed_ns": 2_000_000_000, "processor": {"package_watts": 7.5}}
    assert sample_energy(intel) == pytest.approx((15.0, 0.0))


def test_garbage_between_samples_is_skipped():
    stream = PlistStream()
    samples = stream.feed(b"not a plist\x00" + SAMPLE_1)
    assert len(samples) == 1


def test_baseline_at_open_excludes_energy_before_the_run():
    session = PowermetricsSession(FakeRunner(output=SAMPLE_1))
    session.acquire()
    assert session.wait_for_end_of_output()
    from codecarbon.hardware.powermetrics import PowermetricsSource

    late = PowermetricsSource(session, "cpu")
    late.open()  # opened after the first sample arrived
    assert late.read_joules() == 0.0
    late.close()
    session.release()


def test_powermetrics_dying_is_logged_once_and_reading_keeps_its_value(codecarbon_log):
    runner = FakeRunner(output=SAMPLE_1, returncode=1)
    runner.gate = threading.Event()
    cpu, gpu = detect_powermetrics(runner=runner, platform="darwin")
    cpu.open()
    runner.gate.set()
    assert cpu.session.wait_for_end_of_output()
    assert cpu.read_joules() == pytest.approx(1.523)
    assert "exited with status 1" in codecarbon_log.text
    cpu.close()


def test_reopen_after_close_starts_a_new_process():
    runner = FakeRunner(output=SAMPLE_1)
    cpu, _ = detect_powermetrics(runner=runner, platform="darwin")
    cpu.open()
    cpu.session.wait_for_end_of_output()
    cpu.close()
    runner.gate = threading.Event()
    cpu.open()
    runner.gate.set()
    cpu.session.wait_for_end_of_output()
    assert len(runner.processes) == 2
    assert cpu.read_joules() == pytest.approx(1.523)
    cpu.close()


def test_reader_thread_does_not_outlive_close():
    runner = FakeRunner(output=RECORDED)
    cpu, gpu = detect_powermetrics(runner=runner, platform="darwin")
    cpu.open()
    gpu.open()
    cpu.close()
    gpu.close()
    assert all(p.terminated or p.stdout.done for p in runner.processes)
    assert not [t for t in threading.enumerate() if t.name == "codecarbon-powermetrics" and t.is_alive()]


def test_bad_interval_is_rejected():
    with pytest.raises(ValueError, match="interval_ms"):
        detect_powermetrics(runner=FakeRunner(), platform="darwin", interval_ms=5)


def test_real_subprocess_runner_runs_without_stdin_and_reports_missing_binaries():
    import sys

    from codecarbon.hardware.powermetrics import SubprocessRunner

    runner = SubprocessRunner()
    code, output = runner.run([sys.executable, "-c", "import sys; print(sys.stdin.read() == '')"], timeout=30)
    assert (code, output.strip()) == (0, "True")
    code, _ = runner.run(["/nonexistent/powermetrics"], timeout=5)
    assert code == 127
    process = runner.start([sys.executable, "-c", "import sys; sys.stdout.buffer.write(b'abc')"])
    with process.stdout:
        assert process.stdout.read() == b"abc"
    assert process.wait(timeout=30) == 0
