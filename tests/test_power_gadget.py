"""Intel Power Gadget: PowerLog's CSV parsed and integrated, with recorded logs and a fake runner."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from codecarbon.hardware.power_gadget import PowerGadgetSource, detect_power_gadget, parse_powerlog

# A PowerLog 3.x log of a one-package machine for a 1 s run at 100 ms resolution (rows trimmed to three),
# as written by `PowerLog -resolution 100 -duration 1 -file log.csv`.
HEADER = ("System Time,RDTSC,Elapsed Time (sec), CPU Utilization(%),CPU Frequency_0(MHz),Processor Power_0(Watt),"
          "Cumulative Processor Energy_0(Joules),Cumulative Processor Energy_0(mWh),IA Power_0(Watt),"
          "Cumulative IA Energy_0(Joules),Cumulative IA Energy_0(mWh),Package Temperature_0(C),Package Hot_0,"
          "DRAM Power_0(Watt),Cumulative DRAM Energy_0(Joules),Cumulative DRAM Energy_0(mWh),GT Power_0(Watt),"
          "Cumulative GT Energy_0(Joules),Cumulative GT Energy_0(mWh),Package PL1_0(Watt),Package PL2_0(Watt),"
          "Package PL4_0(Watt),Platform PsysPL1_0(Watt),Platform PsysPL2_0(Watt),GT Frequency(MHz),"
          "GT Utilization(%)")
ROWS = [
    "10:41:12:386,119143446187498,0.101,12.000,2900,7.219,0.729,0.203,5.623,0.568,0.158,58,0,0.811,0.082,0.023,"
    "0.010,0.001,0.000,45.000,90.000,119.000,0.000,0.000,0,0.000",
    "10:41:12:487,119143707957240,0.202,9.000,2600,6.912,1.427,0.396,5.301,1.104,0.307,57,0,0.790,0.162,0.045,"
    "0.008,0.002,0.001,45.000,90.000,119.000,0.000,0.000,0,0.000",
    "10:41:13:390,119146048337414,1.005,10.500,2700,7.101,7.184,1.996,5.500,5.540,1.539,58,0,0.802,0.806,0.224,"
    "0.009,0.009,0.003,45.000,90.000,119.000,0.000,0.000,0,0.000",
]
SUMMARY = """
Total Elapsed Time (sec) = 1.009185
Measured RDTSC Frequency (GHz) = 2.592

Cumulative Processor Energy_0 (Joules) = 7.184021
Cumulative Processor Energy_0 (mWh) = 1.995561
Average Processor Power_0 (Watt) = 7.118632

Cumulative IA Energy_0 (Joules) = 5.539551
Cumulative IA Energy_0 (mWh) = 1.538764
Average IA Power_0 (Watt) = 5.489116

Cumulative DRAM Energy_0 (Joules) = 0.806213
Cumulative DRAM Energy_0 (mWh) = 0.223948
Average DRAM Power_0 (Watt) = 0.798873
"""
RECORDED = HEADER + "\n" + "\n".join(ROWS) + "\n" + SUMMARY


class FakePowerLog:
    """Runs 'PowerLog' by writing a recorded log to the path after -file; counts runs."""

    def __init__(self, text: str = RECORDED, code: int = 0, stop_after: int | None = None) -> None:
        self.text, self.code = text, code
        self.commands: list[list[str]] = []
        self.stop_after = stop_after
        self.enough = threading.Event()

    def run(self, argv, timeout):
        self.commands.append(list(argv))
        path = argv[argv.index("-file") + 1]
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(self.text)
        if self.stop_after is not None and len(self.commands) >= self.stop_after:
            self.enough.set()
        return self.code, ""

    def start(self, argv):  # pragma: no cover - PowerLog is never run in the background by us
        raise AssertionError("not used")


def test_summary_lines_give_the_energy_of_the_run():
    assert parse_powerlog(RECORDED) == pytest.approx(7.184021)


def test_without_summary_the_last_rows_cumulative_columns_are_used():
    assert parse_powerlog(HEADER + "\n" + "\n".join(ROWS) + "\n") == pytest.approx(7.184)


def test_two_packages_are_summed():
    text = ("Elapsed Time (sec),Cumulative Processor Energy_0(Joules),Cumulative Processor Energy_1(Joules)\n"
            "0.1,1.0,2.0\n1.0,10.0,12.5\n")
    assert parse_powerlog(text) == pytest.approx(22.5)
    summary = "Cumulative Processor Energy_0 (Joules) = 3.5\nCumulative Processor Energy_1 (Joules) = 4.0\n"
    assert parse_powerlog(summary) == pytest.approx(7.5)


def test_unparsable_logs_give_none():
    assert parse_powerlog("") is None
    assert parse_powerlog("a,b\n1,2\n") is None


def test_chunks_add_up_to_cumulative_energy():
    runner = FakePowerLog()
    source = PowerGadgetSource("/opt/PowerLog", runner, chunk_s=1)
    assert source.component == "cpu" and source.method == "power-gadget"
    assert source.collect_once() == pytest.approx(7.184021)
    assert source.collect_once() == pytest.approx(7.184021)
    assert source.read_joules() == pytest.approx(2 * 7.184021)
    assert runner.commands[0][:5] == ["/opt/PowerLog", "-resolution", "100", "-duration", "1"]
    from codecarbon.support.statedir import state_dir

    logs = [Path(command[command.index("-file") + 1]) for command in runner.commands]
    assert all(log.parent == state_dir("powerlog") for log in logs)  # private, never a shared temp folder
    assert logs[0] != logs[1] and not any(log.exists() for log in logs)


def test_failed_run_adds_nothing_and_is_logged_once(codecarbon_log):
    source = PowerGadgetSource("/opt/PowerLog", FakePowerLog(code=1), chunk_s=1)
    assert source.collect_once() is None
    assert source.collect_once() is None
    assert source.read_joules() == 0.0
    assert codecarbon_log.text.count("PowerLog gave no energy") == 1


def test_background_loop_counts_completed_chunks_and_stops_on_close():
    runner = FakePowerLog(stop_after=3)
    source = PowerGadgetSource("/opt/PowerLog", runner, chunk_s=1)
    source.open()
    assert runner.enough.wait(10)
    source.close()
    assert source.join(10)
    assert source.chunks >= 2
    assert source.read_joules() == pytest.approx(source.chunks * 7.184021)


def test_loop_gives_up_after_repeated_failures():
    source = PowerGadgetSource("/opt/PowerLog", FakePowerLog(code=2), chunk_s=1)
    source.open()
    assert source.join(10)  # ended by itself
    assert source.read_joules() == 0.0


def test_detection_finds_an_installed_powerlog(tmp_path):
    binary = tmp_path / "PowerLog"
    binary.write_text("")
    (source,) = detect_power_gadget(runner=FakePowerLog(), candidates=[str(tmp_path / "missing"), str(binary)])
    assert source.binary == str(binary)


def test_detection_without_power_gadget_is_empty(tmp_path):
    assert detect_power_gadget(candidates=[str(tmp_path / "nope")]) == []
    assert detect_power_gadget(platform="linux") == []


def test_windows_install_dir_from_ipg_dir(tmp_path):
    (tmp_path / "PowerLog3.0.exe").write_text("")
    (source,) = detect_power_gadget(platform="win32", environ={"IPG_Dir": str(tmp_path)})
    assert source.binary.endswith("PowerLog3.0.exe")


def test_bad_chunk_is_rejected():
    with pytest.raises(ValueError, match="chunk_s"):
        PowerGadgetSource("/opt/PowerLog", FakePowerLog(), chunk_s=0)
