"""The `codecarbon` command (init, config, detect, monitor, --version); carbonboard is in test_carbonboard.py."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from codecarbon._version import __version__
from codecarbon.cli.config_file import read_section, update_section
from codecarbon.cli.main import main
from codecarbon.core.config import load_settings
from tests.fakes.servers import loopback_url, serve_on_loopback, stop_serving

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path, home: Path, timeout: float = 60, env: dict | None = None,
            stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("CODECARBON_")}
    environment.update({"HOME": str(home), "PYTHONPATH": str(REPO)}, **(env or {}))
    return subprocess.run([sys.executable, "-m", "codecarbon", *args], cwd=cwd, env=environment, text=True,
                          capture_output=True, timeout=timeout, stdin=stdin)


# --------------------------------------------------------------------------------------- version and help
def test_version_and_help_through_python_m(cwd: Path, home: Path):
    for flag in ("--version", "-v"):
        done = run_cli(flag, cwd=cwd, home=home)
        assert done.returncode == 0 and done.stdout.strip() == f"codecarbon v{__version__}"
    done = run_cli(cwd=cwd, home=home)
    assert done.returncode == 0
    for command in ("init", "config", "detect", "monitor"):
        assert command in done.stdout


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["frobnicate"])
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------- config file edits
def test_update_section_keeps_comments_other_sections_and_order(tmp_path: Path):
    path = tmp_path / ".codecarbon.config"
    path.write_text("# my notes\n[other]\npue = 9\n\n[codecarbon]\n# keep me\nPUE = 1.1\nproject_name = a\n"
                    "pue = 1.2\n\n[later]\nx = 1\n")
    update_section(path, {"pue": "1.5", "wue": "2", "project_name": None})
    text = path.read_text()
    assert "# my notes" in text and "# keep me" in text and "[other]\npue = 9" in text and "[later]\nx = 1" in text
    assert text.count("pue = 1.5") == 1 and "1.1" not in text and "1.2" not in text
    assert "project_name" not in text
    assert read_section(path) == {"pue": "1.5", "wue": "2"}
    assert text.index("wue = 2") < text.index("[later]")


def test_update_section_creates_file_and_section(tmp_path: Path):
    path = tmp_path / "sub" / ".codecarbon.config"
    update_section(path, {"experiment_id": "abc"})
    assert read_section(path) == {"experiment_id": "abc"}
    assert (path.stat().st_mode & 0o777) == 0o600
    other = tmp_path / "other.config"
    other.write_text("[something]\na = 1\n")
    update_section(other, {"pue": "2"})
    assert read_section(other) == {"pue": "2"} and "[something]\na = 1" in other.read_text()


# --------------------------------------------------------------------------------------------------- config
def test_config_set_writes_validated_keys_to_the_local_file(cwd: Path, capsys):
    assert main(["config", "--set", "pue=1.3", "--set", "Measure_Power_Secs=5", "--set", "project_id=p1"]) == 0
    assert read_section(cwd / ".codecarbon.config") == {"pue": "1.3", "measure_power_secs": "5",
                                                        "project_id": "p1"}
    settings = load_settings({})
    assert settings.pue == 1.3 and settings.measure_power_secs == 5
    assert "pue = 1.3" in capsys.readouterr().out


def test_config_global_writes_the_home_file(cwd: Path, home: Path):
    assert main(["config", "--global", "--set", "project_name=everywhere"]) == 0
    assert read_section(home / ".codecarbon.config") == {"project_name": "everywhere"}
    assert not (cwd / ".codecarbon.config").exists()


@pytest.mark.parametrize("item,message", [
    ("pue=abc", "pue"), ("no_such_key=1", "no_such_key"), ("output_handlers=x", "output_handlers"),
    ("gpu_ids=0;1", "gpu_ids"), ("novalue", "key=value"), ("tracking_mode=gpu", "tracking_mode"),
])
def test_config_set_rejects_bad_keys_and_values(cwd: Path, capsys, item: str, message: str):
    assert main(["config", "--set", item]) == 1
    assert message in capsys.readouterr().err
    assert not (cwd / ".codecarbon.config").exists()


def test_config_alias_is_written_under_the_current_name(cwd: Path):
    assert main(["config", "--set", "co2_signal_api_token=tok"]) == 0
    assert read_section(cwd / ".codecarbon.config") == {"electricitymaps_api_token": "tok"}


def test_config_unset_removes_a_key(cwd: Path):
    (cwd / ".codecarbon.config").write_text("[codecarbon]\npue = 1.2\nwue = 1\n")
    assert main(["config", "--unset", "pue"]) == 0
    assert read_section(cwd / ".codecarbon.config") == {"wue": "1"}


def test_config_show_gives_values_sources_and_masks_the_api_key(cwd: Path, home: Path, capsys,
                                                               monkeypatch: pytest.MonkeyPatch):
    (home / ".codecarbon.config").write_text("[codecarbon]\napi_key = abcdefghijklmnop\nproject_id = p9\n")
    (cwd / ".codecarbon.config").write_text("[codecarbon]\npue = 1.25\n")
    monkeypatch.setenv("CODECARBON_WUE", "0.5")
    assert main(["config", "--show"]) == 0
    out = capsys.readouterr().out
    lines = {line.split("=")[0].strip(): line for line in out.splitlines() if "=" in line}
    assert "1.25" in lines["pue"] and str(cwd / ".codecarbon.config") in lines["pue"]
    assert "0.5" in lines["wue"] and "CODECARBON_WUE" in lines["wue"]
    assert "[default]" in lines["measure_power_secs"]
    assert "abcdefghijklmnop" not in out and str(home / ".codecarbon.config") in lines["api_key"]
    assert "p9" in lines["project_id"]


def test_config_without_options_and_without_a_terminal_only_shows(cwd: Path, home: Path):
    done = run_cli("config", cwd=cwd, home=home)
    assert done.returncode == 0 and "measure_power_secs" in done.stdout
    assert not (cwd / ".codecarbon.config").exists()


def test_config_wizard_in_a_terminal(cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    # project_name, experiment_id (kept), api_endpoint (bad then good), api_key, output_dir, country, log_level
    answers = "proj\n\nnot-a-url\nhttp://localhost:8008\n\n\nfra\n\n"
    monkeypatch.setattr(sys, "stdin", Terminal(answers))
    assert main(["config"]) == 0
    written = read_section(cwd / ".codecarbon.config")
    assert written == {"project_name": "proj", "api_endpoint": "http://localhost:8008", "country_iso_code": "fra"}
    assert "api_endpoint" in capsys.readouterr().out


def test_malformed_config_file_is_reported_without_traceback(cwd: Path, home: Path):
    (cwd / ".codecarbon.config").write_text("pue = 1\n")
    done = run_cli("config", "--show", cwd=cwd, home=home)
    assert done.returncode == 1
    assert str(cwd / ".codecarbon.config") in done.stderr and "Traceback" not in done.stderr


# ----------------------------------------------------------------------------------------------------- init
class FakeApi:
    """A local stand-in for the CodeCarbon API's POST /experiments, recording what it received."""

    def __init__(self, status: int = 201, answer: dict | None = None):
        self.requests: list[tuple[str, dict, dict]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                api.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                payload = json.dumps(answer if answer is not None else {"id": "exp-from-api"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = serve_on_loopback(Handler)
        self.url = loopback_url(self.server)

    def close(self) -> None:
        stop_serving(self.server)


@pytest.fixture
def fake_api():
    servers: list[FakeApi] = []

    def start(**kwargs) -> FakeApi:
        servers.append(FakeApi(**kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_init_creates_an_experiment_on_the_api(cwd: Path, home: Path, fake_api, capsys):
    api = fake_api()
    (home / ".codecarbon.config").write_text(f"[codecarbon]\napi_endpoint = {api.url}\napi_key = k-123\n")
    (cwd / ".codecarbon.config").write_text("[codecarbon]\n# mine\nproject_name = keep\nproject_id = proj-7\n")
    assert main(["init"]) == 0
    assert len(api.requests) == 1
    path, headers, body = api.requests[0]
    assert path == "/experiments"
    assert headers.get("x-api-token") == "k-123" and headers.get("content-type") == "application/json"
    assert body["project_id"] == "proj-7" and body["name"] and "timestamp" in body
    local = read_section(cwd / ".codecarbon.config")
    assert local["experiment_id"] == "exp-from-api" and local["project_name"] == "keep"
    assert "# mine" in (cwd / ".codecarbon.config").read_text()
    assert "exp-from-api" in capsys.readouterr().out
    assert load_settings({}).experiment_id == "exp-from-api"


def test_init_prints_an_existing_experiment_id_and_calls_nobody(cwd: Path, fake_api, capsys):
    api = fake_api()
    (cwd / ".codecarbon.config").write_text(f"[codecarbon]\nexperiment_id = already\napi_endpoint = {api.url}\n")
    before = (cwd / ".codecarbon.config").read_text()
    assert main(["init"]) == 0
    assert "already" in capsys.readouterr().out
    assert api.requests == [] and (cwd / ".codecarbon.config").read_text() == before


def test_init_offline_writes_a_local_uuid(cwd: Path, capsys):
    (cwd / ".codecarbon.config").write_text("[codecarbon]\npue = 1.2\n")
    assert main(["init", "--offline"]) == 0
    local = read_section(cwd / ".codecarbon.config")
    assert uuid.UUID(local["experiment_id"]).version == 4 and local["pue"] == "1.2"
    assert "local" in capsys.readouterr().out.lower()


def test_init_falls_back_to_a_local_uuid_when_the_api_fails(cwd: Path, fake_api, capsys):
    api = fake_api(status=500, answer={"detail": "boom"})
    assert main(["init", "--api-endpoint", api.url]) == 0
    captured = capsys.readouterr()
    assert "HTTP 500" in captured.err
    assert uuid.UUID(read_section(cwd / ".codecarbon.config")["experiment_id"]).version == 4


def test_init_with_the_api_unreachable_exits_cleanly(cwd: Path, home: Path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = run_cli("init", "--api-endpoint", f"http://127.0.0.1:{port}", "--timeout", "2", cwd=cwd, home=home)
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert "could not be reached" in done.stderr
    assert uuid.UUID(read_section(cwd / ".codecarbon.config")["experiment_id"])


def test_init_answer_without_id_falls_back(cwd: Path, fake_api):
    api = fake_api(answer={"name": "no id here"})
    assert main(["init", "--api-endpoint", api.url]) == 0
    assert uuid.UUID(read_section(cwd / ".codecarbon.config")["experiment_id"])


# --------------------------------------------------------------------------------------------------- detect
def _hardware_detection_available() -> bool:
    try:
        from codecarbon.hardware import HardwareOptions, detect_hardware  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _hardware_detection_available(), reason="codecarbon.hardware.detect_hardware not built yet")
def test_detect_prints_the_machine(cwd: Path, home: Path):
    import psutil

    done = run_cli("detect", cwd=cwd, home=home)
    assert done.returncode == 0, done.stderr
    assert f"CPU count: {psutil.cpu_count()}" in done.stdout
    for label in ("RAM:", "CPU model:", "GPU count:", "GPU model:"):
        assert label in done.stdout


def test_detect_prints_what_detection_returns(monkeypatch: pytest.MonkeyPatch, capsys):
    """The formatting over a Hardware value built by hand (the detection itself is tested with the hardware)."""
    import codecarbon.hardware as hardware_package
    from codecarbon.hardware.base import EnergySource, Hardware

    class Counter(EnergySource):
        component, method = "cpu", "rapl"
        closed = False

        def open(self) -> None:
            pass

        def read_joules(self) -> float:
            return 0.0

        def close(self) -> None:
            Counter.closed = True

    found = Hardware(sources=[Counter()], cpu_model="Example CPU 9000", cpu_count=8, cpu_physical_count=4,
                     gpu_count=2, gpu_model="2 x Example GPU", ram_total_size=31.25)
    monkeypatch.setattr(hardware_package, "HardwareOptions", lambda **_: None, raising=False)
    monkeypatch.setattr(hardware_package, "detect_hardware", lambda options, seams=None: found, raising=False)
    assert main(["detect"]) == 0
    out = capsys.readouterr().out
    assert "RAM:       31.2 GB" in out or "RAM:       31.3 GB" in out
    assert "CPU count: 8 (4 physical)" in out and "Example CPU 9000" in out
    assert "GPU count: 2" in out and "2 x Example GPU" in out and "cpu: rapl" in out
    assert Counter.closed


# -------------------------------------------------------------------------------------------------- monitor
@pytest.mark.parametrize("args,message", [
    (["monitor", "--offline"], "country"),
    (["monitor", "--region", "quebec"], "--offline"),
    (["monitor", "--api"], "experiment_id"),
    (["monitor", "--offline", "--country-iso-code", "FRA", "--api"], "--offline"),
    (["monitor", "--country-iso-code", "FRANCE"], "country_iso_code"),
    (["monitor", "--measure-power-secs", "-1", "--country-iso-code", "FRA"], "measure_power_secs"),
])
def test_monitor_refuses_bad_options_before_tracking(args: list[str], message: str, capsys):
    assert main(args) == 1
    assert message in capsys.readouterr().err


def test_monitor_plan_forwards_only_given_options(cwd: Path):
    from codecarbon.cli.monitor import plan_monitor
    from codecarbon.output_methods.base_output import OutputMethod

    (cwd / ".codecarbon.config").write_text("[codecarbon]\noutput_methods = csv,logger\nexperiment_id = e\n")
    plan = plan_monitor(country_iso_code="FRA", region="Quebec", process_mode=True)
    assert plan.offline and plan.arguments == {"tracking_mode": "process", "country_iso_code": "FRA",
                                               "region": "Quebec"}
    plan = plan_monitor(api=True, measure_power_secs=2.0)
    assert not plan.offline
    assert plan.arguments == {"measure_power_secs": 2.0, "output_methods": [OutputMethod.CSV, OutputMethod.LOGGER,
                                                                            OutputMethod.API]}
    assert plan_monitor(api=False).arguments["output_methods"] == [OutputMethod.CSV, OutputMethod.LOGGER]


def _tracker_available() -> bool:
    try:
        from codecarbon.emissions_tracker import OfflineEmissionsTracker

        OfflineEmissionsTracker(country_iso_code="FRA", output_methods=[])
    except Exception:
        return False
    return True


needs_tracker = pytest.mark.skipif(not _tracker_available(), reason="the tracker's parts are not all built yet")


@needs_tracker
def test_monitor_runs_a_command_and_returns_its_exit_code(cwd: Path, home: Path):
    done = run_cli("monitor", "--country-iso-code", "FRA", "--measure-power-secs", "0.2", "--",
                   sys.executable, "-c", "import sys, time; time.sleep(0.3); print('child ran'); sys.exit(3)",
                   cwd=cwd, home=home)
    assert done.returncode == 3, done.stderr
    assert "child ran" in done.stdout and "g CO2eq" in done.stdout
    with open(cwd / "emissions.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 1 and rows[0]["tracking_mode"] == "process" and rows[0]["country_iso_code"] == "FRA"
    assert str((cwd / "emissions.csv").resolve()) in done.stdout


@needs_tracker
def test_monitor_command_not_found_is_127(cwd: Path, home: Path):
    done = run_cli("monitor", "--country-iso-code", "FRA", "--", "no-such-command-xyz", cwd=cwd, home=home)
    assert done.returncode == 127 and "no-such-command-xyz" in done.stderr


@needs_tracker
def test_monitor_until_sigterm_writes_the_run_and_exits_0(cwd: Path, home: Path):
    environment = {k: v for k, v in os.environ.items() if not k.upper().startswith("CODECARBON_")}
    environment.update(HOME=str(home), PYTHONPATH=str(REPO))
    process = subprocess.Popen([sys.executable, "-m", "codecarbon", "monitor", "--country-iso-code", "FRA",
                                "--measure-power-secs", "0.2"], cwd=cwd, env=environment, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        assert "monitoring" in process.stdout.readline()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "g CO2eq" in out
    with open(cwd / "emissions.csv", newline="") as stream:
        assert len(list(csv.DictReader(stream))) == 1
