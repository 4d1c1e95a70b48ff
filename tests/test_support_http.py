"""The shared HTTP client against servers of our own on 127.0.0.1: endless and slow answers, credentials in URLs."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from codecarbon.support import http
from codecarbon.support.errors import CodeCarbonError, ConfigError


@contextmanager
def raw_server(answer: Callable[[socket.socket, bytes], None]) -> Iterator[tuple[str, list[bytes]]]:
    """A socket server: reads one request head, records it, then lets ``answer`` write whatever it likes."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    heads: list[bytes] = []
    stopping = threading.Event()

    def serve_one(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                heads.append(data)
                answer(conn, data)
            except OSError:
                pass

    def accept() -> None:
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}", heads
    finally:
        stopping.set()
        thread.join(2)
        listener.close()


def ok_answer(conn: socket.socket, head: bytes) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\": true}")


def endless_answer(conn: socket.socket, head: bytes) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
    block = b"x" * 65536
    for _ in range(100_000):  # ~6 GB if nobody stops reading
        conn.sendall(block)


def dripping_body(conn: socket.socket, head: bytes) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    for _ in range(1000):
        conn.sendall(b"x")
        time.sleep(0.1)  # every read returns well within any per-read timeout


def dripping_headers(conn: socket.socket, head: bytes) -> None:
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 1000:
        conn.sendall(bytes([byte]))
        time.sleep(0.1)


def test_a_2xx_answer_comes_back_with_its_body_and_headers() -> None:
    with raw_server(ok_answer) as (address, heads):
        answer = http.request("GET", f"http://{address}/x?q=1", timeout_s=5, max_body_bytes=100)
    assert answer.status == 200 and answer.ok
    assert answer.json() == {"a": True}
    assert answer.headers["content-type"] == "application/json"
    assert heads[0].startswith(b"GET /x?q=1 HTTP/1.1\r\n")


def test_an_endless_answer_is_cut_at_the_size_cap() -> None:
    with raw_server(endless_answer) as (address, _):
        with pytest.raises(http.HttpError, match="larger than 100000 bytes"):
            http.request("GET", f"http://{address}/", timeout_s=10, max_body_bytes=100_000)


def test_a_slow_drip_body_is_cut_at_the_overall_deadline() -> None:
    with raw_server(dripping_body) as (address, _):
        started = time.monotonic()
        with pytest.raises(http.HttpError, match="timed out .no complete answer within 0.6 s"):
            http.request("GET", f"http://{address}/", timeout_s=0.6)
        assert time.monotonic() - started < 5  # far below the 100 s the drip would take


def test_slow_drip_headers_are_cut_at_the_overall_deadline() -> None:
    with raw_server(dripping_headers) as (address, _):
        started = time.monotonic()
        with pytest.raises(http.HttpError):
            http.request("GET", f"http://{address}/", timeout_s=0.6)
        assert time.monotonic() - started < 5


def test_credentials_in_the_url_become_basic_auth_and_never_reach_the_host_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    looked_up: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def recording_getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        looked_up.append(str(host))
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)
    with raw_server(ok_answer) as (address, heads):
        http.request("POST", f"http://al%40ice:s3cr%3At@{address}/metrics", json={"v": 1}, timeout_s=5)
    head = heads[0].decode()
    expected = base64.b64encode(b"al@ice:s3cr:t").decode()
    assert f"Authorization: Basic {expected}" in head
    assert head.startswith("POST /metrics HTTP/1.1\r\n")
    assert "s3cr" not in head.replace(expected, "")
    assert looked_up and set(looked_up) == {"127.0.0.1"}  # other threads may resolve too; never a user name


def test_a_scheme_less_host_port_means_http() -> None:
    with raw_server(ok_answer) as (address, heads):
        assert http.request("GET", address, timeout_s=5).status == 200
    assert heads[0].startswith(b"GET / HTTP/1.1")
    assert http.with_scheme("localhost:9091") == "http://localhost:9091"
    assert http.with_scheme("https://h:1/p") == "https://h:1/p"


def test_failures_name_the_url_without_credentials() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(http.HttpError) as caught:
        http.request("GET", f"http://user:hunter2@127.0.0.1:{port}/p?token=abc", timeout_s=2)
    message = str(caught.value)
    assert f"127.0.0.1:{port}/p" in message
    assert "hunter2" not in message and "user" not in message and "abc" not in message
    assert caught.value.status is None
    assert isinstance(caught.value, CodeCarbonError)


def test_a_non_2xx_answer_is_a_response_and_raise_for_status_raises_with_its_status() -> None:
    def not_found(conn: socket.socket, head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")

    with raw_server(not_found) as (address, _):
        answer = http.request("GET", f"http://{address}/", timeout_s=5)
    assert answer.status == 404 and not answer.ok
    with pytest.raises(http.HttpError) as caught:
        answer.raise_for_status()
    assert caught.value.status == 404


def test_the_transport_seam_receives_the_prepared_request_without_user_info() -> None:
    seen: list[http.PreparedRequest] = []

    def transport(prepared: http.PreparedRequest) -> http.Response:
        seen.append(prepared)
        return http.Response(202, {}, b"")

    answer = http.request("PUT", "me:pw@gateway:9091/metrics/job/x", data=b"body", headers={"X-A": "1"},
                          timeout_s=3, transport=transport)
    assert answer.status == 202
    sent = seen[0]
    assert sent.url == "http://gateway:9091/metrics/job/x"
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(b"me:pw").decode()
    assert sent.headers["X-A"] == "1" and sent.body == b"body" and sent.method == "PUT"


def test_redact_url_drops_user_info_query_and_fragment() -> None:
    assert http.redact_url("https://u:p@h.example:8443/a/b?key=v#f") == "https://h.example:8443/a/b"


def test_check_url_names_the_setting_and_accepts_the_scheme_less_form() -> None:
    assert http.check_url("prometheus_url", "localhost:9091") == "http://localhost:9091"
    with pytest.raises(ConfigError, match="api_endpoint"):
        http.check_url("api_endpoint", "ftp://host/")
    with pytest.raises(ConfigError, match="emissions_endpoint"):
        http.check_url("emissions_endpoint", "http://host:notaport/")
    with pytest.raises(ValueError):
        http.check_url("emissions_endpoint", "")


@pytest.mark.parametrize("shown,expected", [
    ("https://u:p@h.example/a?token=t1&page=2", "https://***@h.example/a?token=***&page=2"),
    ("https://h/cb#access_token=t2&state=s", "https://h/cb#access_token=***&state=s"),
    ("https://h/x?api_key=t3&API-KEY=t4&key=t5&auth=t6&keyboard=ok", "https://h/x?api_key=***&API-KEY=***&key=***"
     "&auth=***&keyboard=ok"),
    ("https://h/x?X-Amz-Security-Token=t7&client_secret=t8&refresh_token=t9",
     "https://h/x?X-Amz-Security-Token=***&client_secret=***&refresh_token=***"),
    ("failed: '/a?id_token=t10 x' (found ' ')", "failed: '/a?id_token=*** x' (found ' ')"),
    ("https://h/plain?page=1&sort=asc", "https://h/plain?page=1&sort=asc"),
])
def test_redact_secrets_masks_query_tokens_like_user_info(shown: str, expected: str) -> None:
    assert http.redact_secrets(shown) == expected


def test_a_failed_request_never_quotes_a_query_token() -> None:
    """http.client quotes the request target in its InvalidURL message; that text reaches DEBUG log lines."""
    from tests.fakes.servers import recording_server

    with recording_server() as server:
        with pytest.raises(http.HttpError) as failed:
            http.request("GET", f"{server.url}/a?token=s3cret-t0ken x&page=2", timeout_s=5)
    message = str(failed.value)
    assert "InvalidURL" in message and "s3cret" not in message and "token=***" in message


def test_settings_shown_at_debug_mask_query_tokens(codecarbon_log) -> None:
    from codecarbon.core.config import load_settings

    load_settings({"emissions_endpoint": "https://me:pw0@hook.example/in?token=s3cret&page=2"})
    (line,) = [r.getMessage() for r in codecarbon_log.records if "emissions_endpoint" in r.getMessage()]
    assert "s3cret" not in line and "pw0" not in line
    assert "https://***@hook.example/in?token=***&page=2" in line
