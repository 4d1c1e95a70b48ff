"""HTTP and CodeCarbon API outputs against local servers: what they send, and that they never get in the way."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from codecarbon.output_methods.api import CodeCarbonAPIOutput, merge_windows
from codecarbon.output_methods.delivery import UNDELIVERED_SUBDIR, StopWindow
from codecarbon.output_methods.http import HTTPOutput
from tests.fakes.servers import hanging_server, recording_server, refused_url, wait_until
from tests.test_output_records import make_record

SECRET = "sk-test-9f8e7d6c5b4a"


def spooled(output_dir: Path) -> list[dict]:
    folder = output_dir / UNDELIVERED_SUBDIR
    lines = []
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        lines += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return lines


def test_http_output_posts_the_total_record_with_the_user(tmp_path: Path) -> None:
    total = make_record()
    with recording_server() as server:
        output = HTTPOutput(server.url + "/emissions", output_dir=str(tmp_path))
        output.out(total, make_record(duration=5.0))
        output.exit()
        [request] = server.received("/emissions")
    assert request.method == "POST" and request.headers["content-type"] == "application/json"
    body = request.body
    assert body["run_id"] == total.run_id and body["energy_consumed"] == total.energy_consumed
    assert body["duration"] == 60.0  # the total, not the delta
    assert body["user"] == getpass.getuser()
    assert list(body)[:5] == ["timestamp", "project_name", "run_id", "experiment_id", "duration"]
    assert spooled(tmp_path) == []


def test_http_output_rejects_a_non_http_endpoint() -> None:
    with pytest.raises(ValueError, match="emissions_endpoint"):
        HTTPOutput("ftp://example.org/x")


def test_hanging_endpoint_never_blocks_out_and_exit_is_bounded(tmp_path: Path) -> None:
    total = make_record()
    with hanging_server() as url:
        output = HTTPOutput(url, output_dir=str(tmp_path), delivery_timeout_secs=1.0)
        started = time.monotonic()
        output.out(total, total)
        output.out(replace(total, duration=120.0), total)
        assert time.monotonic() - started < 1.0  # enqueued, not sent on this thread
        started = time.monotonic()
        output.exit()
        assert time.monotonic() - started < 1.0 + 3.0
    saved = spooled(tmp_path)
    assert [item["payload"]["duration"] for item in saved] == [60.0, 120.0]
    assert all(item["run_id"] == total.run_id for item in saved)


def test_refused_endpoint_saves_payloads_and_logs_the_path(tmp_path: Path, codecarbon_log) -> None:
    output = HTTPOutput(refused_url(), output_dir=str(tmp_path), delivery_timeout_secs=0.5)
    output.out(make_record(), make_record())
    output.exit()
    assert len(spooled(tmp_path)) == 1
    assert str(tmp_path / UNDELIVERED_SUBDIR) in codecarbon_log.text


def test_failing_server_payloads_are_resent_by_the_next_output(tmp_path: Path) -> None:
    total = make_record()
    with recording_server(status=500) as server:
        first = HTTPOutput(server.url, output_dir=str(tmp_path), delivery_timeout_secs=0.5)
        first.out(total, total)
        first.exit()
        assert server.received() == [] and len(spooled(tmp_path)) == 1
        server.status = 201
        second = HTTPOutput(server.url, output_dir=str(tmp_path), delivery_timeout_secs=5.0)
        assert wait_until(lambda: len(server.received()) == 1)
        second.exit()
    assert server.received()[0].body["run_id"] == total.run_id
    assert spooled(tmp_path) == []


def test_transient_failures_are_retried_in_the_background(tmp_path: Path) -> None:
    with recording_server(fail_first=2) as server:
        output = HTTPOutput(server.url, output_dir=str(tmp_path), delivery_timeout_secs=10.0)
        output.out(make_record(), make_record())
        assert wait_until(lambda: len(server.received()) == 1, timeout=15)
        output.exit()
    assert spooled(tmp_path) == []


def test_refused_for_good_is_logged_and_not_retried(tmp_path: Path, codecarbon_log) -> None:
    with recording_server(status=422) as server:
        output = HTTPOutput(server.url, output_dir=str(tmp_path), delivery_timeout_secs=2.0)
        output.out(make_record(), make_record())
        output.exit()
    assert "refused a payload for good" in codecarbon_log.text and "422" in codecarbon_log.text
    assert spooled(tmp_path) == []


def test_several_hanging_outputs_share_one_stop_bound(tmp_path: Path) -> None:
    total = make_record()
    window = StopWindow()
    options = {"output_dir": str(tmp_path), "delivery_timeout_secs": 2.0, "stop_window": window}
    with hanging_server() as url:
        outputs = [HTTPOutput(url, **options), HTTPOutput(url + "/other", **options),
                   CodeCarbonAPIOutput(url, "exp", SECRET, **options)]
        for output in outputs:
            output.out(total, total)
        started = time.monotonic()
        for output in outputs:
            output.exit()
        assert time.monotonic() - started < 2.0 + 2.0  # one bound for all, not 3 x 2 s
    assert len(spooled(tmp_path)) == 4  # two HTTP payloads, the API run and its emission


def test_api_output_creates_the_run_once_then_sends_each_window(tmp_path: Path) -> None:
    total = make_record()
    with recording_server() as server:
        output = CodeCarbonAPIOutput(server.url + "/", "exp-42", SECRET, output_dir=str(tmp_path))
        output.live_out(total, replace(total, duration=10.6))
        output.live_out(total, replace(total, duration=0.4, energy_consumed=0.001))  # too short: carried
        output.out(total, replace(total, duration=2.0, energy_consumed=0.002))
        output.exit()
        runs, emissions = server.received("/runs"), server.received("/emissions")
    assert len(runs) == 1
    run = runs[0].body
    assert run["experiment_id"] == "exp-42" and run["cpu_model"] == total.cpu_model
    assert run["latitude"] == 48.9 and run["longitude"] == 2.4 and run["tracking_mode"] == "machine"
    assert runs[0].headers["x-api-token"] == SECRET
    assert [e.body["duration"] for e in emissions] == [10, 2]  # 0.4 s + 2.0 s merged, sent as int
    assert all(e.body["run_id"] == "api-run-1" for e in emissions)
    assert emissions[1].body["energy_consumed"] == pytest.approx(0.003)
    assert emissions[0].body["timestamp"].startswith("2025-03-01T12:00:00")
    assert emissions[0].body["timestamp"][19:] != ""  # carries a UTC offset
    assert set(emissions[0].body) >= {"emissions_sum", "emissions_rate", "cpu_power", "gpu_power", "ram_power",
                                      "cpu_energy", "gpu_energy", "ram_energy", "cpu_utilization_percent",
                                      "gpu_utilization_percent", "ram_utilization_percent", "wue"}


def test_merge_windows_weights_means_by_duration() -> None:
    first = make_record(duration=1.0, cpu_utilization_percent=10.0, cpu_energy=0.001)
    second = make_record(duration=3.0, cpu_utilization_percent=50.0, cpu_energy=0.003)
    merged = merge_windows(first, second)
    assert merged.duration == 4.0 and merged.cpu_utilization_percent == pytest.approx(40.0)
    assert merged.cpu_power == pytest.approx(0.004 / (4 / 3600) * 1000)


def test_api_key_never_appears_in_logs_or_saved_payloads(tmp_path: Path, codecarbon_log) -> None:
    with recording_server(status=500) as server:
        output = CodeCarbonAPIOutput(f"http://user:{SECRET}@127.0.0.1:{server.url.rsplit(':', 1)[1]}",
                                     "exp", SECRET, output_dir=str(tmp_path), delivery_timeout_secs=0.5)
        output.out(make_record(), make_record())
        output.exit()
    assert SECRET not in codecarbon_log.text and SECRET not in repr(output)
    files = list((tmp_path / UNDELIVERED_SUBDIR).glob("*"))
    assert files and all(SECRET not in path.read_text() for path in files)
    assert "retrying" in codecarbon_log.text or "could not be delivered" in codecarbon_log.text


def test_api_payloads_saved_by_one_run_reach_the_api_later(tmp_path: Path) -> None:
    total = make_record()
    with recording_server(status=503) as server:
        first = CodeCarbonAPIOutput(server.url, "exp", SECRET, output_dir=str(tmp_path), delivery_timeout_secs=0.5)
        first.out(total, total)
        first.exit()
        assert [item["payload"]["kind"] for item in spooled(tmp_path)] == ["run", "emission"]
        server.status = 201
        second = CodeCarbonAPIOutput(server.url, "exp", SECRET, output_dir=str(tmp_path))
        assert wait_until(lambda: len(server.received("/emissions")) == 1)
        second.exit()
        assert len(server.received("/runs")) == 1
        assert server.received("/emissions")[0].body["run_id"] == "api-run-1"
    assert spooled(tmp_path) == []


def test_api_output_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match="api_endpoint"):
        CodeCarbonAPIOutput("not a url", "exp", "k")
    with pytest.raises(ValueError, match="experiment_id"):
        CodeCarbonAPIOutput("http://127.0.0.1:1", "", "k")
    with pytest.raises(ValueError, match="delivery_timeout_secs"):
        HTTPOutput("http://127.0.0.1:1", delivery_timeout_secs=-1)


def test_payloads_still_queued_at_interpreter_exit_are_saved(tmp_path: Path) -> None:
    with hanging_server() as url:
        script = (
            "from tests.test_output_records import make_record\n"
            "from codecarbon.output_methods.http import HTTPOutput\n"
            f"o = HTTPOutput({url!r}, output_dir={str(tmp_path)!r})\n"
            "o.out(make_record(run_id='r-1'), make_record())\n"
        )
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
        done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert [item["run_id"] for item in spooled(tmp_path)] == ["r-1"]
    assert "saved to" in done.stderr


def test_an_output_used_again_after_exit_keeps_delivering(tmp_path: Path) -> None:
    with recording_server() as server:
        output = HTTPOutput(server.url, output_dir=str(tmp_path))
        output.out(make_record(), make_record())
        output.exit()
        output.out(make_record(), make_record())  # a tracker started again after stop()
        output.exit()
        assert len(server.received()) == 2
    assert spooled(tmp_path) == []
