"""HTTP and CodeCarbon API outputs against local servers: what they send, and that they never get in the way."""

from __future__ import annotations

import base64
import getpass
import os
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from codecarbon.output_methods.api import CodeCarbonAPIOutput, merge_windows
from codecarbon.output_methods.base_output import drain_outputs
from codecarbon.output_methods.http import HTTPOutput
from codecarbon.support.errors import DeliveryError
from tests.fakes.servers import hanging_server, recording_server, refused_url, wait_until
from tests.fakes.spool import private_state, spool_files, spooled
from tests.test_output_records import make_record

SECRET = "sk-test-9f8e7d6c5b4a"


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield from private_state(tmp_path, monkeypatch)


def test_http_output_posts_the_total_record_with_the_user_and_an_idempotency_key(tmp_path: Path) -> None:
    total = make_record()
    with recording_server() as server:
        output = HTTPOutput(server.url + "/emissions")
        output.out(total, make_record(duration=5.0))
        assert output.drain(5.0) is True
        [request] = server.received("/emissions")  # there when drain() returns: no waiting loop
        output.exit()
    assert request.method == "POST" and request.headers["content-type"] == "application/json"
    body = request.body
    assert body["run_id"] == total.run_id and body["energy_consumed"] == total.energy_consumed
    assert body["duration"] == 60.0  # the total, not the delta
    assert body["user"] == getpass.getuser()
    assert list(body)[:5] == ["timestamp", "project_name", "run_id", "experiment_id", "duration"]
    assert uuid.UUID(request.headers["idempotency-key"])
    assert spooled() == []


def test_submit_gives_a_standard_future_that_ends_when_delivered() -> None:
    from concurrent.futures import Future

    with recording_server() as server:
        output = HTTPOutput(server.url)
        future = output._queue.submit({"a": 1}, "run-1")
        assert isinstance(future, Future)
        assert future.result(timeout=10) is True
        assert server.received()[0].body == {"a": 1}


def test_http_output_checks_its_endpoint_and_accepts_host_port() -> None:
    with pytest.raises(ValueError, match="emissions_endpoint"):
        HTTPOutput("ftp://example.org/x")
    with recording_server() as server:
        output = HTTPOutput(server.url.removeprefix("http://") + "/in")  # 3.3.2's docs write it so
        assert output.endpoint_url == server.url + "/in"
        output.out(make_record(), make_record())
        assert output.drain(5.0) and server.received("/in")


def test_credentials_in_the_endpoint_become_basic_auth_and_stay_out_of_logs(codecarbon_log) -> None:
    with recording_server(status=500) as server:
        url = server.url.replace("http://", f"http://alice:{SECRET}@") + "/in"
        output = HTTPOutput(url)
        output.out(make_record(), make_record())
        assert output.drain(0.5) is False
        attempt = server.attempts[0]
    assert attempt.headers["authorization"] == "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()
    assert SECRET not in codecarbon_log.text and SECRET not in repr(output)
    assert all(SECRET not in path.read_text() and SECRET not in path.name for path in spool_files())


def test_hanging_endpoint_never_blocks_out_and_drain_is_bounded(tmp_path: Path) -> None:
    total = make_record()
    with hanging_server() as url:
        output = HTTPOutput(url)
        started = time.monotonic()
        output.out(total, total)
        output.out(replace(total, duration=120.0), total)
        assert time.monotonic() - started < 1.0  # enqueued, not sent on this thread
        started = time.monotonic()
        assert output.drain(1.0) is False
        assert time.monotonic() - started < 1.0 + 1.5
        output.exit()
    saved = spooled()
    assert [item["payload"]["duration"] for item in saved] == [60.0, 120.0]
    assert all(item["run_id"] == total.run_id for item in saved)


def test_undelivered_payloads_go_to_private_files_in_the_state_directory(tmp_path: Path, state_dir: Path,
                                                                         codecarbon_log) -> None:
    output_dir = tmp_path / "out"
    output_dir.mkdir()
    output = HTTPOutput(refused_url())
    output.out(make_record(), make_record())
    output.drain(0.3)
    [path] = spool_files()
    assert path.parent == state_dir / "undelivered" and path.name.startswith("http-")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert str(path) in codecarbon_log.text
    assert list(output_dir.iterdir()) == [] and not (Path.cwd() / ".codecarbon").exists()


def test_a_spool_is_keyed_by_endpoint(tmp_path: Path) -> None:
    with recording_server(status=500) as first, recording_server() as second:
        HTTPOutput(first.url).out(make_record(), make_record())
        failing = HTTPOutput(first.url)
        failing.out(make_record(), make_record())
        failing.drain(0.3)
        other = HTTPOutput(second.url)  # another endpoint: does not take the first one's payloads
        other.drain(1.0)
        assert second.received() == []
    assert spooled()


def test_failing_server_payloads_are_resent_later_with_the_same_idempotency_key() -> None:
    total = make_record()
    with recording_server(status=500) as server:
        first = HTTPOutput(server.url)
        first.out(total, total)
        assert first.drain(0.5) is False
        assert server.received() == [] and len(spooled()) == 1
        key = server.attempts[0].headers["idempotency-key"]
        server.status = 201
        second = HTTPOutput(server.url)
        assert second.drain(5.0) is True  # what the spool held is "queued so far" for the new output
        second.exit()
    [request] = server.received()
    assert request.body["run_id"] == total.run_id and request.headers["idempotency-key"] == key
    assert spooled() == []


def test_a_payload_delivered_late_is_not_sent_again() -> None:
    with recording_server(slow_first=1, delay=1.5) as server:
        output = HTTPOutput(server.url)
        future = output._queue.submit({"late": True}, "run-1")
        assert output.drain(0.3) is False  # the bound expires while the request is still in flight
        assert len(spooled()) == 1
        with pytest.raises(DeliveryError, match="saved to"):
            future.result(timeout=0)
        assert wait_until(lambda: len(server.received()) == 1 and spooled() == [], timeout=10)
        later = HTTPOutput(server.url)  # a later run finds nothing to send again
        assert later.drain(1.0) is True
        time.sleep(0.2)
    assert len(server.received()) == 1


def test_transient_failures_are_retried_in_the_background() -> None:
    with recording_server(fail_first=2) as server:
        output = HTTPOutput(server.url)
        future = output._queue.submit({"n": 1}, "run-1")
        assert future.result(timeout=15) is True
        keys = {attempt.headers["idempotency-key"] for attempt in server.attempts}
    assert len(server.attempts) == 3 and len(keys) == 1  # one payload, one id, whatever the retries
    assert spooled() == []


def test_a_drain_retries_at_once_instead_of_waiting_for_the_backoff() -> None:
    with recording_server(fail_first=3) as server:
        output = HTTPOutput(server.url)
        output.out(make_record(), make_record())
        assert output.drain(5.0) is True
        assert len(server.received()) == 1


def test_a_refused_payload_is_logged_before_its_future_ends(codecarbon_log) -> None:
    """Whoever waits on the future (a drain, then a look at the log) finds the reason already logged."""
    logged_at_resolution: list[bool] = []
    with recording_server(status=422) as server:
        output = HTTPOutput(server.url)
        future = output._queue.submit({"n": 1}, "run-1")
        future.add_done_callback(lambda _: logged_at_resolution.append(
            "refused a payload for good" in codecarbon_log.text))
        with pytest.raises(DeliveryError):
            future.result(timeout=15)
    assert logged_at_resolution == [True]


def test_refused_for_good_is_logged_and_not_retried(codecarbon_log) -> None:
    with recording_server(status=422) as server:
        output = HTTPOutput(server.url)
        output.out(make_record(), make_record())
        assert output.drain(2.0) is False
        assert len(server.attempts) == 1
    assert "refused a payload for good" in codecarbon_log.text and "422" in codecarbon_log.text
    assert spooled() == []


def test_several_hanging_outputs_share_one_bound() -> None:
    total = make_record()
    with hanging_server() as url:
        outputs = [HTTPOutput(url), HTTPOutput(url + "/other"), CodeCarbonAPIOutput(url, "exp", SECRET)]
        for output in outputs:
            output.out(total, total)
        started = time.monotonic()
        assert drain_outputs(outputs, 1.0) is False
        assert time.monotonic() - started < 1.0 + 1.5  # one bound for all, not 3 x 1 s
        for output in outputs:
            output.exit()
    assert len(spooled()) == 4  # two HTTP payloads, the API run and its emission


def test_api_output_creates_the_run_once_then_sends_each_window() -> None:
    total = make_record()
    with recording_server() as server:
        output = CodeCarbonAPIOutput(server.url + "/", "exp-42", SECRET)
        output.live_out(total, replace(total, duration=10.6))
        output.live_out(total, replace(total, duration=0.4, energy_consumed=0.001))  # too short: carried
        output.out(total, replace(total, duration=2.0, energy_consumed=0.002))
        assert output.drain(5.0)
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
    keys = [r.headers["idempotency-key"] for r in runs + emissions]
    assert len(set(keys)) == 3


def test_a_runs_short_tail_never_joins_the_next_run() -> None:
    first, second = make_record(), make_record()
    with recording_server() as server:
        output = CodeCarbonAPIOutput(server.url, "exp", SECRET)
        output.out(first, replace(first, duration=0.5, energy_consumed=0.5))  # under 1 s: carried
        output.exit()
        output.out(second, replace(second, duration=3.0, energy_consumed=0.002))  # the tracker started again
        assert output.drain(5.0)
        emissions = server.received("/emissions")
        runs = server.received("/runs")
    assert len(runs) == 1 and [e.body["energy_consumed"] for e in emissions] == [0.002]
    assert [e.body["duration"] for e in emissions] == [3]


def test_merge_windows_weights_means_by_duration() -> None:
    first = make_record(duration=1.0, cpu_utilization_percent=10.0, cpu_energy=0.001)
    second = make_record(duration=3.0, cpu_utilization_percent=50.0, cpu_energy=0.003)
    merged = merge_windows(first, second)
    assert merged.duration == 4.0 and merged.cpu_utilization_percent == pytest.approx(40.0)
    assert merged.cpu_power == pytest.approx(0.004 / (4 / 3600) * 1000)


def test_api_key_never_appears_in_logs_or_saved_payloads(codecarbon_log) -> None:
    with recording_server(status=500) as server:
        output = CodeCarbonAPIOutput(f"http://user:{SECRET}@127.0.0.1:{server.url.rsplit(':', 1)[1]}",
                                     "exp", SECRET)
        output.out(make_record(), make_record())
        output.drain(0.5)
    assert SECRET not in codecarbon_log.text and SECRET not in repr(output)
    files = spool_files()
    assert files and all(SECRET not in path.read_text() for path in files)
    assert "retrying" in codecarbon_log.text or "could not be delivered" in codecarbon_log.text


def test_api_payloads_saved_by_one_run_reach_the_api_later() -> None:
    total = make_record()
    with recording_server(status=503) as server:
        first = CodeCarbonAPIOutput(server.url, "exp", SECRET)
        first.out(total, total)
        first.drain(0.5)
        assert [item["payload"]["kind"] for item in spooled()] == ["run", "emission"]
        server.status = 201
        second = CodeCarbonAPIOutput(server.url, "exp", SECRET)
        assert second.drain(5.0)
        assert len(server.received("/runs")) == 1
        assert server.received("/emissions")[0].body["run_id"] == "api-run-1"
    assert spooled() == []


def test_api_output_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match="api_endpoint"):
        CodeCarbonAPIOutput("not a url", "exp", "k")
    with pytest.raises(ValueError, match="experiment_id"):
        CodeCarbonAPIOutput("http://127.0.0.1:1", "", "k")
    with pytest.raises(ValueError, match="delivery_timeout_secs"):
        HTTPOutput("http://127.0.0.1:1", delivery_timeout_secs=-1)


def test_payloads_still_queued_at_interpreter_exit_are_saved(tmp_path: Path, state_dir: Path) -> None:
    with hanging_server() as url:
        script = (
            "from tests.test_output_records import make_record\n"
            "from codecarbon.output_methods.http import HTTPOutput\n"
            f"o = HTTPOutput({url!r})\n"
            "o.out(make_record(run_id='r-1'), make_record())\n"
        )
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
        done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    listing = [(p.name, p.stat().st_size) for p in state_dir.rglob("*") if p.is_file()]
    assert [item["run_id"] for item in spooled()] == ["r-1"], (done.stderr, listing)
    assert "saved to" in done.stderr


def test_an_output_used_again_after_exit_keeps_delivering() -> None:
    with recording_server() as server:
        output = HTTPOutput(server.url)
        output.out(make_record(), make_record())
        output.exit()
        output.out(make_record(), make_record())  # a tracker started again after stop()
        output.exit()
        assert len(server.received()) == 2
    assert spooled() == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_forked_child_holds_none_of_the_parents_payloads() -> None:
    with recording_server(status=500) as server:
        output = HTTPOutput(server.url)
        output.out(make_record(), make_record())
        assert wait_until(lambda: len(server.attempts) >= 1)
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the child
            os.close(read_end)
            report = f"{output._queue.pending} {output.drain(0.2)}"
            os.write(write_end, report.encode())
            os._exit(0)
        os.close(write_end)
        os.waitpid(child, 0)
        answer = os.read(read_end, 100).decode()
        os.close(read_end)
        assert output._queue.pending == 1  # the parent still has it
    assert answer == "0 True"


def test_an_endless_2xx_answer_counts_as_delivered_once_and_never_grows_memory() -> None:
    from tests.test_support_http import endless_answer, raw_server

    with raw_server(endless_answer) as (address, heads):
        output = HTTPOutput(address)
        output.out(make_record(), make_record())
        assert output.drain(5.0) is True
        time.sleep(0.3)
    assert len(heads) == 1
    assert spooled() == []


def _sender_thread_ends() -> bool:
    """Join the delivery thread (if one runs) with a generous bound: True when no delivery thread is left."""
    from codecarbon.output_methods import delivery

    thread = delivery._SENDER._thread
    if thread is not None:
        thread.join(timeout=30)
    return not any(t.name == "codecarbon-delivery" and t.is_alive() for t in threading.enumerate())


def test_the_delivery_thread_ends_once_nothing_is_queued_even_when_the_endpoint_is_dead() -> None:
    output = HTTPOutput(refused_url())
    output.out(make_record(run_id="dead-1"), make_record())
    assert output.drain(0.3) is False  # not delivered: saved for later
    assert _sender_thread_ends()
    assert [item["run_id"] for item in spooled()] == ["dead-1"]  # still spooled: a later run sends it
    output.out(make_record(run_id="dead-2"), make_record())  # the next payload starts a thread again
    assert output.drain(0.3) is False
    assert _sender_thread_ends()
    assert sorted(item["run_id"] for item in spooled()) == ["dead-1", "dead-2"]


def test_a_payload_waiting_for_a_retry_keeps_the_thread_until_it_is_delivered() -> None:
    with recording_server(fail_first=1) as server:
        output = HTTPOutput(server.url)
        future = output._queue.submit({"n": 1}, "run-1")
        assert future.result(timeout=15) is True  # the retry came from the same thread, after the backoff
        assert _sender_thread_ends()
        assert len(server.attempts) == 2


def test_an_output_made_while_payloads_are_spooled_reads_nothing_until_it_has_work() -> None:
    total = make_record(run_id="old-run")
    with recording_server(status=500) as server:
        first = HTTPOutput(server.url)
        first.out(total, total)
        assert first.drain(0.3) is False
        assert _sender_thread_ends() and len(spooled()) == 1
        server.status = 201
        second = HTTPOutput(server.url)  # the constructor neither reads the spool nor starts a thread
        assert second._queue.pending == 0 and len(spooled()) == 1
        assert not any(t.name == "codecarbon-delivery" for t in threading.enumerate())
        second.out(make_record(run_id="new-run"), make_record())  # a run of this output: the old one goes first
        assert second.drain(5.0) is True
        assert _sender_thread_ends()
    assert [request.body["run_id"] for request in server.received()] == ["old-run", "new-run"]
    assert spooled() == []


def test_a_tracker_with_a_dead_endpoint_leaves_no_thread_after_stop(tmp_path: Path) -> None:
    script = (
        "import sys, threading\n"
        "from codecarbon import OfflineEmissionsTracker\n"
        "t = OfflineEmissionsTracker(country_iso_code='FRA', emissions_endpoint=sys.argv[1], output_methods=[],\n"
        "                            delivery_timeout_secs=0.5)\n"
        "t.start(); t.stop()\n"
        "for thread in threading.enumerate():\n"
        "    if thread is not threading.main_thread():\n"
        "        thread.join(timeout=30)\n"
        "print([t.name for t in threading.enumerate() if t.is_alive() and t is not threading.main_thread()])\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    done = subprocess.run([sys.executable, "-c", script, refused_url()], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert len(spooled()) == 1  # the row waits in the state directory for a later run
