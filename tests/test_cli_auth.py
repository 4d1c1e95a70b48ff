"""`codecarbon login`, `get-token`, `test-api` and `init` with a login, end to end against an OpenID provider and a
CodeCarbon API of our own on 127.0.0.1 (tests/fakes/idp.py). The "browser" is a small HTTP client that follows
the sign-in URL the command prints."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from codecarbon.cli import auth
from codecarbon.cli.config_file import read_section
from codecarbon.cli.main import main
from tests.fakes.idp import FakeCodeCarbonApi, FakeIdentityProvider
from tests.fakes.servers import refused_url, wait_until

REPO = Path(__file__).resolve().parents[1]
POSIX = hasattr(os, "getuid")


@pytest.fixture(autouse=True)
def no_outside_auth_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials go under the per-test HOME; no provider chosen from outside."""
    for name in ("XDG_CONFIG_HOME", "APPDATA", auth.WELL_KNOWN_ENV, auth.CLIENT_ID_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def idp() -> Iterator[FakeIdentityProvider]:
    provider = FakeIdentityProvider().start()
    yield provider
    provider.stop()


@pytest.fixture
def api(idp: FakeIdentityProvider) -> Iterator[FakeCodeCarbonApi]:
    server = FakeCodeCarbonApi(idp).start()
    yield server
    server.stop()


@pytest.fixture
def configured(idp: FakeIdentityProvider, api: FakeCodeCarbonApi, home: Path,
               monkeypatch: pytest.MonkeyPatch) -> FakeIdentityProvider:
    """This machine points at our provider (3.3.2's variable) and our API (the user's own config file)."""
    monkeypatch.setenv(auth.WELL_KNOWN_ENV, idp.well_known_url)
    (home / ".codecarbon.config").write_text(f"[codecarbon]\napi_endpoint = {api.url}\n")
    return idp


def browse(url: str, before: str | None = None) -> int:
    """What a browser does: open the sign-in page, follow the redirect to our loopback listener."""
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith("http://127.0.0.1:"), location  # RFC 8252 §7.3: the loopback IP literal
    port = int(location.split(":")[2].split("/")[0])
    if before == "idle-connection":  # a browser's speculative pre-connection that never sends a request
        idle = socket.create_connection(("127.0.0.1", port))
        try:
            return requests.get(location, timeout=3).status_code
        finally:
            idle.close()
    if before is not None:  # something else on this machine hits the callback first
        requests.get(before.format(port=port), timeout=10)
    return requests.get(location, timeout=10).status_code


def in_background_browser(seen: list[str], before: str | None = None):
    def open_browser(url: str) -> None:
        seen.append(url)
        threading.Thread(target=lambda: seen.append(str(browse(url, before))), daemon=True).start()
    return open_browser


def do_login(idp: FakeIdentityProvider, **kwargs) -> auth.LoginResult:
    seen: list[str] = []
    return auth.login(auth.AuthSettings(idp.well_known_url, "codecarbon-cli"), port=0,
                      open_browser=in_background_browser(seen, kwargs.pop("before", None)), wait_s=20, **kwargs)


def stored_path(home: Path) -> Path:
    return home / ".config" / "codecarbon" / "credentials.json"


def cli_environment(home: Path, **extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.upper().startswith("CODECARBON_") and k not in ("XDG_CONFIG_HOME", "APPDATA")}
    environment.update({"HOME": str(home), "PYTHONPATH": str(REPO)}, **extra)
    return environment


# ---------------------------------------------------------------------------------------------- full login
def test_full_login_through_the_cli_keeps_0600_credentials_in_the_config_dir_and_nothing_in_cwd(
        configured: FakeIdentityProvider, api: FakeCodeCarbonApi, cwd: Path, home: Path):
    before = sorted(p.name for p in cwd.iterdir())
    process = subprocess.Popen([sys.executable, "-m", "codecarbon", "login", "--no-browser", "--port", "0"],
                               cwd=cwd, env=cli_environment(home, AUTH_SERVER_WELL_KNOWN=configured.well_known_url),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        url = ""
        while not url:
            line = process.stderr.readline()
            assert line, "login ended before printing the sign-in URL"
            url = line.strip() if line.startswith("http") else ""
        assert browse(url) == 200
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Logged in as ada" in out and "accepts this login" in out
    path = stored_path(home)
    assert path.is_file()
    if POSIX:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in cwd.iterdir()) == before  # no ./credentials.json as 3.3.2 writes
    stored = json.loads(path.read_text())
    assert stored["token"]["access_token"] == configured.issued_access_tokens[-1]
    assert stored["well_known_url"] == configured.well_known_url and stored["user"] == "ada"
    # the authorization request carried a PKCE challenge and a nonce; the code was exchanged with the verifier
    (authorize,) = configured.received("/authorize")
    assert authorize["code_challenge_method"] == ["S256"] and authorize["nonce"][0]
    (exchange,) = [r for r in configured.received("/token") if r["grant_type"] == ["authorization_code"]]
    # the redirect names the address the listener is bound to, never "localhost" (which may resolve to ::1)
    assert exchange["code_verifier"][0] and exchange["redirect_uri"][0].startswith("http://127.0.0.1:")
    assert authorize["redirect_uri"] == exchange["redirect_uri"]
    # and the API was asked whether it accepts the login, with the token as a bearer
    (check,) = api.received("/auth/check")
    assert check[2]["authorization"] == f"Bearer {stored['token']['access_token']}"


def test_credentials_location_per_platform(tmp_path: Path):
    assert auth.credentials_path({"XDG_CONFIG_HOME": str(tmp_path)}, "linux") == \
        tmp_path / "codecarbon" / "credentials.json"
    assert auth.credentials_path({"XDG_CONFIG_HOME": "relative/ignored"}, "linux") == \
        Path.home() / ".config" / "codecarbon" / "credentials.json"
    assert auth.credentials_path({"APPDATA": str(tmp_path)}, "win32") == tmp_path / "codecarbon" / "credentials.json"


def test_login_honours_xdg_config_home(idp: FakeIdentityProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    result = do_login(idp)
    assert result.path == tmp_path / "xdg" / "codecarbon" / "credentials.json" and result.path.is_file()


# ------------------------------------------------------------------------------------------- rejections
@pytest.mark.parametrize("fault", ["tampered", "wrong-audience", "expired", "wrong-nonce", "wrong-issuer",
                                   "foreign-key", "tampered-access", "wrong-audience-access", "expired-access",
                                   "wrong-issuer-access"])
def test_login_rejects_a_faulty_token_and_stores_nothing(idp: FakeIdentityProvider, home: Path, fault: str):
    idp.misbehave = fault
    with pytest.raises(auth.TokenRejected):
        do_login(idp)
    assert not stored_path(home).exists()


def test_a_refused_sign_in_says_why_and_stores_nothing(idp: FakeIdentityProvider, home: Path):
    idp.deny = True
    with pytest.raises(auth.AuthError, match="The user said no") as refused:
        do_login(idp)
    assert "\x1b" not in str(refused.value)  # the provider's text cannot drive the terminal
    assert not stored_path(home).exists()


def test_a_callback_with_another_state_is_ignored(idp: FakeIdentityProvider, home: Path):
    forged = "http://127.0.0.1:{port}/callback?code=planted&state=not-ours"
    result = do_login(idp, before=forged)
    assert result.path.is_file()
    (exchange,) = [r for r in idp.received("/token") if r["grant_type"] == ["authorization_code"]]
    assert exchange["code"] != ["planted"]


def test_an_idle_connection_to_the_listener_does_not_stall_the_login(idp: FakeIdentityProvider,
                                                                      monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(auth._CallbackHandler, "timeout", 0.5)
    seen: list[str] = []
    result = auth.login(auth.AuthSettings(idp.well_known_url, "codecarbon-cli"), port=0, wait_s=20,
                        open_browser=in_background_browser(seen, "idle-connection"))
    assert result.path.is_file()
    assert wait_until(lambda: len(seen) == 2) and seen[1] == "200"  # the browser saw the success page in time


def test_opaque_access_tokens_live_by_their_announced_lifetime(configured: FakeIdentityProvider, home: Path,
                                                               capsys):
    configured.opaque_access = True
    first = do_login(configured).access_token
    assert first.count(".") == 0
    capsys.readouterr()
    assert main(["get-token"]) == 0 and capsys.readouterr().out.strip() == first
    stored = json.loads(stored_path(home).read_text())
    stored["token"]["expires_at"] = time.time() - 1
    stored_path(home).write_text(json.dumps(stored))
    assert main(["get-token"]) == 0
    assert capsys.readouterr().out.strip() == configured.issued_access_tokens[-1] != first


def test_discovery_must_name_the_issuer_of_its_url(idp: FakeIdentityProvider):
    idp.discovery_issuer = "http://127.0.0.1:1/realms/elsewhere"
    with pytest.raises(auth.AuthError, match="issuer"):
        do_login(idp)


def test_plain_http_is_refused_except_to_this_machine():
    with pytest.raises(auth.AuthError, match="https"):
        auth.auth_settings("http://idp.example.com/.well-known/openid-configuration", environ={},
                           config_files=())
    assert auth.auth_settings(environ={}, config_files=()).well_known_url == auth.DEFAULT_WELL_KNOWN_URL


def test_provider_from_a_config_file_key(tmp_path: Path):
    config = tmp_path / ".codecarbon.config"
    config.write_text("[codecarbon]\nauth_server_well_known = https://id.example.org/.well-known/openid-configuration"
                      "\nauth_client_id = mine\n")
    settings = auth.auth_settings(environ={}, config_files=(config,))
    assert settings == auth.AuthSettings("https://id.example.org/.well-known/openid-configuration", "mine")
    env = {auth.WELL_KNOWN_ENV: "https://env.example.org/.well-known/openid-configuration"}
    assert auth.auth_settings(environ=env, config_files=(config,)).well_known_url == env[auth.WELL_KNOWN_ENV]


# --------------------------------------------------------------------------------------------- get-token
def test_get_token_prints_the_valid_stored_token_without_refreshing(configured: FakeIdentityProvider, capsys):
    result = do_login(configured)
    capsys.readouterr()
    assert main(["get-token"]) == 0
    assert capsys.readouterr().out.strip() == result.access_token
    assert not [r for r in configured.received("/token") if r["grant_type"] == ["refresh_token"]]


def _store_access_token(home: Path, token: str) -> None:
    path = stored_path(home)
    stored = json.loads(path.read_text())
    stored["token"]["access_token"] = token
    path.write_text(json.dumps(stored))


def test_get_token_refreshes_an_expired_access_token(configured: FakeIdentityProvider, home: Path, capsys):
    do_login(configured)
    now = int(time.time())
    expired = configured._sign({"iss": configured.issuer, "sub": "user-ada", "aud": "account",
                                "azp": "codecarbon-cli", "iat": now - 7200, "exp": now - 3600})
    _store_access_token(home, expired)
    refresh_before = json.loads(stored_path(home).read_text())["token"]["refresh_token"]
    capsys.readouterr()
    assert main(["get-token"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed != expired and printed == configured.issued_access_tokens[-1]
    (grant,) = [r for r in configured.received("/token") if r["grant_type"] == ["refresh_token"]]
    assert grant["refresh_token"] == [refresh_before]
    stored = json.loads(stored_path(home).read_text())
    assert stored["token"]["access_token"] == printed and stored["token"]["refresh_token"] != refresh_before
    if POSIX:
        assert stat.S_IMODE(stored_path(home).stat().st_mode) == 0o600
    capsys.readouterr()
    assert main(["get-token"]) == 0  # the refreshed token is used as is next time
    assert capsys.readouterr().out.strip() == printed


@pytest.mark.parametrize("damage", ["tampered", "wrong-audience", "foreign-issuer"])
def test_get_token_never_prints_a_bad_token(configured: FakeIdentityProvider, home: Path, capsys, damage: str):
    result = do_login(configured)
    header, payload, signature = result.access_token.split(".")
    now = int(time.time())
    claims = {"iss": configured.issuer, "sub": "user-ada", "aud": "account", "azp": "codecarbon-cli",
              "iat": now, "exp": now + 600}
    if damage == "tampered":
        bad = f"{header}.{payload[:-4]}AAAA.{signature}"
    elif damage == "wrong-audience":
        bad = configured._sign(dict(claims, aud="other", azp="other"))
    else:
        bad = configured._sign(dict(claims, iss="http://127.0.0.1:1/realms/other"))
    _store_access_token(home, bad)
    stored = json.loads(stored_path(home).read_text())
    del stored["token"]["refresh_token"]
    stored_path(home).write_text(json.dumps(stored))
    capsys.readouterr()
    assert main(["get-token"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "codecarbon login" in captured.err


def test_get_token_with_a_dead_refresh_token_asks_to_log_in_again(configured: FakeIdentityProvider, home: Path,
                                                                   capsys):
    do_login(configured)
    configured.refresh_tokens.clear()  # the provider forgot the session
    now = int(time.time())
    _store_access_token(home, configured._sign({"iss": configured.issuer, "sub": "user-ada", "aud": "account",
                                                "azp": "codecarbon-cli", "iat": now - 99, "exp": now - 60}))
    capsys.readouterr()
    assert main(["get-token"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "refreshing it failed" in captured.err and "codecarbon login" in captured.err


def test_a_login_for_another_provider_is_not_used(configured: FakeIdentityProvider, capsys,
                                                  monkeypatch: pytest.MonkeyPatch):
    do_login(configured)
    other = FakeIdentityProvider().start()
    try:
        monkeypatch.setenv(auth.WELL_KNOWN_ENV, other.well_known_url)
        assert main(["get-token"]) == 1
        assert "the stored login is for" in capsys.readouterr().err
    finally:
        other.stop()


def test_without_login_get_token_says_so_and_mentions_a_3x_credentials_file(configured, cwd: Path, capsys):
    (cwd / "credentials.json").write_text('{"access_token": "old"}')
    assert main(["get-token"]) == 1
    err = capsys.readouterr().err
    assert "codecarbon login" in err and "not used" in err
    assert (cwd / "credentials.json").read_text() == '{"access_token": "old"}'


def test_get_token_with_a_project_creates_an_api_key(configured: FakeIdentityProvider, api: FakeCodeCarbonApi,
                                                     capsys):
    result = do_login(configured)
    capsys.readouterr()
    assert main(["get-token", "proj-42", "--name", "ci"]) == 0
    assert capsys.readouterr().out.strip() == "project-api-token-123"
    (call,) = api.received("/projects/proj-42/api-tokens")
    assert call[0] == "POST" and call[3] == {"name": "ci", "access": 2}
    assert call[2]["authorization"] == f"Bearer {result.access_token}"


# ---------------------------------------------------------------------------------------------- test-api
def test_test_api_says_reachable_and_accepted(configured: FakeIdentityProvider, api: FakeCodeCarbonApi, capsys):
    do_login(configured)
    capsys.readouterr()
    assert main(["test-api"]) == 0
    out = capsys.readouterr().out
    assert "reachable and accepts your login" in out and "org-1" in out
    assert api.received("/organizations")[0][2]["authorization"].startswith("Bearer ")


def test_test_api_fails_when_the_api_refuses_or_is_unreachable(configured: FakeIdentityProvider, cwd: Path,
                                                               capsys):
    do_login(configured)
    stranger = FakeIdentityProvider().start()
    refusing = FakeCodeCarbonApi(stranger).start()  # trusts another provider only
    try:
        capsys.readouterr()
        assert main(["test-api", "--api-endpoint", refusing.url]) == 1
        assert "does not accept your login" in capsys.readouterr().err
        assert main(["test-api", "--api-endpoint", refused_url()]) == 1
        assert "cannot be used" in capsys.readouterr().err
    finally:
        refusing.stop()
        stranger.stop()


# -------------------------------------------------------------------------------------------------- init
def test_init_sends_the_login_token(configured: FakeIdentityProvider, api: FakeCodeCarbonApi, cwd: Path, capsys):
    result = do_login(configured)
    assert main(["init"]) == 0
    (call,) = api.received("/experiments")
    assert call[2]["authorization"] == f"Bearer {result.access_token}" and "x-api-token" not in call[2]
    assert read_section(cwd / ".codecarbon.config")["experiment_id"] == "exp-with-login"


def test_init_without_login_sends_no_bearer(configured: FakeIdentityProvider, api: FakeCodeCarbonApi, cwd: Path):
    (cwd / ".codecarbon.config").write_text(f"[codecarbon]\napi_endpoint = {api.url}\napi_key = k-1\n")
    assert main(["init"]) == 0
    (call,) = api.received("/experiments")
    assert "authorization" not in call[2] and call[2]["x-api-token"] == "k-1"


# ------------------------------------------------------------------------------------------------- storage
@pytest.mark.skipif(not POSIX, reason="symbolic links and modes")
def test_credentials_are_written_over_a_planted_link_never_through_it(tmp_path: Path):
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    target = tmp_path / "config" / "codecarbon" / "credentials.json"
    target.parent.mkdir(parents=True)
    target.symlink_to(victim)
    with pytest.raises(auth.AuthError):
        auth.load_credentials(target)  # a link is never read through
    auth.save_credentials({"token": {"access_token": "x"}}, target)
    assert victim.read_text() == "keep me"
    assert not target.is_symlink() and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["credentials.json"]  # no temporary file left


@pytest.mark.skipif(not POSIX, reason="modes")
def test_loose_permissions_are_tightened_when_read(tmp_path: Path):
    target = tmp_path / "credentials.json"
    target.write_text(json.dumps({"token": {"access_token": "x"}}))
    target.chmod(0o644)
    assert auth.load_credentials(target) == {"token": {"access_token": "x"}}
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


# ------------------------------------------------------------------------------------------ without authlib
_BLOCK_AUTHLIB = """
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('authlib', 'joserfc'):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Blocker())
from codecarbon.cli.main import main
code = main(sys.argv[1:])
sys.exit(code)
"""


def test_without_authlib_login_says_what_to_install_and_init_still_works(api: FakeCodeCarbonApi, cwd: Path,
                                                                         home: Path):
    for command in (["login"], ["get-token"], ["test-api"]):
        done = subprocess.run([sys.executable, "-c", _BLOCK_AUTHLIB, *command], cwd=cwd, env=cli_environment(home),
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, done.stderr
        assert done.stderr.strip().splitlines() == [
            f"codecarbon: error: `codecarbon {command[0]}` needs authlib, joserfc (the 'login' extra): "
            "pip install 'codecarbon[login]'"]
    (cwd / ".codecarbon.config").write_text(f"[codecarbon]\napi_endpoint = {api.url}\napi_key = k-2\n")
    done = subprocess.run([sys.executable, "-c", _BLOCK_AUTHLIB, "init"], cwd=cwd, env=cli_environment(home),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert read_section(cwd / ".codecarbon.config")["experiment_id"] == "exp-with-login"


def test_help_lists_the_login_commands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for command in ("login", "get-token", "test-api"):
        assert command in out


def test_credentials_folder_is_made_private_and_a_planted_link_is_refused(tmp_path: Path) -> None:
    from codecarbon.cli.auth import AuthError, save_credentials

    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    os.chmod(loose, 0o755)
    save_credentials({"access_token": "x"}, loose / "credentials.json")
    assert stat.S_IMODE(os.stat(loose).st_mode) == 0o700

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "linked").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(AuthError, match="credentials folder"):
        save_credentials({"access_token": "x"}, tmp_path / "linked" / "credentials.json")
    assert list(elsewhere.iterdir()) == []


# ------------------------------------------------------------------------------- where the token may go
@pytest.fixture
def elsewhere(idp: FakeIdentityProvider) -> Iterator[FakeCodeCarbonApi]:
    """Another API (one a cloned repository's config could name); it would accept the token if it got it."""
    server = FakeCodeCarbonApi(idp).start()
    yield server
    server.stop()


def test_a_folder_config_cannot_redirect_the_login_token(configured: FakeIdentityProvider, api: FakeCodeCarbonApi,
                                                         elsewhere: FakeCodeCarbonApi, cwd: Path, capsys,
                                                         monkeypatch: pytest.MonkeyPatch):
    do_login(configured)
    (cwd / ".codecarbon.config").write_text(f"[codecarbon]\napi_endpoint = {elsewhere.url}\napi_key = k-9\n")
    capsys.readouterr()
    for command in (["test-api"], ["get-token", "proj-42"]):
        assert main(command) == 1
        err = capsys.readouterr().err
        assert "not sent to" in err and f"--api-endpoint {elsewhere.url}" in err
    assert main(["init"]) == 0  # init goes on with the API key only, and says why once
    err = capsys.readouterr().err
    assert err.count("not sent to") == 1
    (call,) = elsewhere.received("/experiments")
    assert "authorization" not in call[2] and call[2]["x-api-token"] == "k-9"
    assert elsewhere.received("/organizations") == [] and elsewhere.received("/projects/proj-42/api-tokens") == []
    # the user confirms it: an argument, or their own environment
    assert main(["test-api", "--api-endpoint", elsewhere.url]) == 0
    monkeypatch.setenv("CODECARBON_API_ENDPOINT", elsewhere.url)
    assert main(["test-api"]) == 0
    assert len(elsewhere.received("/organizations")) == 2
    assert all(r[2]["authorization"].startswith("Bearer ") for r in elsewhere.received("/organizations"))


def _cli_login(idp: FakeIdentityProvider, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    seen: list[str] = []
    monkeypatch.setattr(auth, "print_url_only", in_background_browser(seen))
    return main(["login", "--no-browser", "--port", "0", "--well-known-url", idp.well_known_url, *args])


def test_login_remembers_the_api_it_was_checked_against(idp: FakeIdentityProvider, api: FakeCodeCarbonApi,
                                                        elsewhere: FakeCodeCarbonApi, cwd: Path, home: Path,
                                                        capsys, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(auth.WELL_KNOWN_ENV, idp.well_known_url)
    (cwd / ".codecarbon.config").write_text(f"[codecarbon]\napi_endpoint = {elsewhere.url}\n")
    assert _cli_login(idp, monkeypatch) == 0  # in a folder naming another API: logged in, no check sent there
    captured = capsys.readouterr()
    assert "Logged in as ada" in captured.out and "the API check was skipped" in captured.err
    assert elsewhere.received("/auth/check") == []
    assert _cli_login(idp, monkeypatch, "--api-endpoint", api.url) == 0  # the user names their API
    assert len(api.received("/auth/check")) == 1
    assert json.loads(stored_path(home).read_text())["api_origin"] == api.url.lower()
    (cwd / ".codecarbon.config").write_text(f"[codecarbon]\napi_endpoint = {api.url}\n")
    capsys.readouterr()
    assert main(["test-api"]) == 0  # a folder's config naming the API the login was made for is fine
    # the remembered API survives a refresh of the tokens
    stored = json.loads(stored_path(home).read_text())
    now = int(time.time())
    stored["token"]["access_token"] = idp._sign({"iss": idp.issuer, "sub": "user-ada", "aud": "account",
                                                 "azp": "codecarbon-cli", "iat": now - 99, "exp": now - 60})
    stored_path(home).write_text(json.dumps(stored))
    assert main(["test-api"]) == 0
    assert json.loads(stored_path(home).read_text())["api_origin"] == api.url.lower()


def test_the_token_never_travels_over_plain_http(configured: FakeIdentityProvider, capsys):
    from codecarbon.cli.api import ApiUnavailable, check_auth

    do_login(configured)
    capsys.readouterr()
    assert main(["test-api", "--api-endpoint", "http://api.example.invalid"]) == 1
    assert "only sent over https://" in capsys.readouterr().err
    with pytest.raises(ApiUnavailable, match="only sent over https://"):
        check_auth("http://198.51.100.7:8000", "a-token", timeout_s=30)  # refused before any connection


@pytest.mark.parametrize("endpoint,source,allowed", [
    ("https://api.codecarbon.io", "default", True),
    ("https://api.example.org", "argument", True),
    ("https://api.example.org", "CODECARBON_API_ENDPOINT", True),
    ("https://api.example.org", "HOME", True),  # ~/.codecarbon.config
    ("https://api.example.org", "CWD", False),  # ./.codecarbon.config
    ("https://API.codecarbon.io:443/", "CWD", True),  # CodeCarbon's own API, however written
    ("http://127.0.0.1:8000", "argument", True),
    ("http://[::1]:8000", "argument", True),
    ("http://api.example.org", "argument", False),
    ("http://api.example.org", "default", False),
])
def test_bearer_target_rules(endpoint: str, source: str, allowed: bool, home: Path, cwd: Path):
    from codecarbon.cli.bearer import bearer_target

    files = {"HOME": str(home / ".codecarbon.config"), "CWD": str(cwd / ".codecarbon.config")}
    for path in files.values():
        Path(path).write_text("[codecarbon]\n")
    assert bearer_target(endpoint, files.get(source, source)).allowed is allowed
