"""`codecarbon login` and the tokens it keeps: OpenID Connect authorization code + PKCE with a loopback redirect.

The protocol itself (authorization URL, state, PKCE, code exchange, refresh) is authlib's; JWT signatures and
claims are checked with joserfc against the provider's published keys. Both come with the ``login`` extra and are
imported only here, inside the functions that need them, so ``import codecarbon`` and the other commands never pay
for them.

Tokens live in the user's config directory (never the working directory), in a 0600 file written atomically
without following links. Every token we keep or hand out has been checked: signature against the provider's JWKS,
issuer, audience, expiry, and for the ID token the nonce of our own request.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from codecarbon.cli.bearer import REMEMBERED_ORIGIN_KEY
from codecarbon.support.errors import CodeCarbonError, MissingDependencyError

#: 3.3.2's provider and client; both can be changed (option, 3.3.2's environment variables, config file key).
DEFAULT_WELL_KNOWN_URL = "https://authentication.codecarbon.io/realms/codecarbon/.well-known/openid-configuration"
DEFAULT_CLIENT_ID = "codecarbon-cli"
WELL_KNOWN_ENV = "AUTH_SERVER_WELL_KNOWN"
CLIENT_ID_ENV = "AUTH_CLIENT_ID"
WELL_KNOWN_KEY = "auth_server_well_known"
CLIENT_ID_KEY = "auth_client_id"
#: 3.3.2's redirect port (it sends http://localhost:8090/callback). We send the loopback IP literal we listen on,
#: http://127.0.0.1:PORT/callback (RFC 8252 §7.3): a browser resolving "localhost" may try ::1 first, where
#: another local process could take the code. 0 picks any free port.
DEFAULT_REDIRECT_PORT = 8090
SCOPE = "openid offline_access"
CREDENTIALS_FILE = "credentials.json"
#: Signature algorithms we accept: asymmetric only, so a public key can never be used as an HMAC secret.
ACCEPTED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
#: A token with less life left than this is refreshed first, so that what we print is still usable.
MIN_REMAINING_S = 30
#: Tolerated clock difference with the provider when checking exp / iat / nbf.
LEEWAY_S = 30
INSTALL_HINT = "pip install 'codecarbon[login]'"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class AuthError(CodeCarbonError):
    """Login or token use failed; the message says what to do next."""


class TokenRejected(AuthError):
    """A token failed validation (signature, issuer, audience, nonce, ...)."""


class TokenExpired(TokenRejected):
    """A token's exp is past (or too close to use)."""


# -------------------------------------------------------------------------------------------- dependencies
def require_login_libraries(command: str = "codecarbon login") -> None:
    """Raise MissingDependencyError naming the extra when authlib, joserfc or requests cannot be imported."""
    missing = []
    for module in ("authlib", "joserfc", "requests"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise MissingDependencyError(
            f"`{command}` needs {', '.join(missing)} (the 'login' extra): {INSTALL_HINT}")


# ------------------------------------------------------------------------------------------------ settings
@dataclass(frozen=True)
class AuthSettings:
    """Which provider and client to use; stored credentials remember them and are used only with the same."""

    well_known_url: str
    client_id: str


def auth_settings(well_known_url: str | None = None, client_id: str | None = None, *,
                  environ: Mapping[str, str] | None = None,
                  config_files: tuple[Path, ...] | None = None) -> AuthSettings:
    """Option, else 3.3.2's environment variable, else ``auth_server_well_known`` in a config file, else default."""
    env = os.environ if environ is None else environ
    files: dict[str, str] = {}
    from codecarbon.cli.config_file import read_section
    from codecarbon.core.config import CONFIG_FILE_NAME

    for path in config_files if config_files is not None else (Path.home() / CONFIG_FILE_NAME,
                                                                  Path.cwd() / CONFIG_FILE_NAME):
        files.update({k: v for k, v in read_section(path).items() if k in (WELL_KNOWN_KEY, CLIENT_ID_KEY)})
    url = (well_known_url or env.get(WELL_KNOWN_ENV) or files.get(WELL_KNOWN_KEY) or DEFAULT_WELL_KNOWN_URL).strip()
    client = (client_id or env.get(CLIENT_ID_ENV) or files.get(CLIENT_ID_KEY) or DEFAULT_CLIENT_ID).strip()
    return AuthSettings(_checked_url(url, "the well-known URL"), client)


def _checked_url(url: str, what: str) -> str:
    """https anywhere; plain http only to this machine (a code or token must never cross a network in clear)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK_HOSTS:
        return url
    raise AuthError(f"{what} must be an https:// URL (http:// only on 127.0.0.1/localhost), got {url!r}")


# ----------------------------------------------------------------------------------------------- storage
def credentials_path(environ: Mapping[str, str] | None = None, platform: str = sys.platform) -> Path:
    """``%APPDATA%\\codecarbon`` on Windows, else ``$XDG_CONFIG_HOME/codecarbon`` or ``~/.config/codecarbon``."""
    env = os.environ if environ is None else environ
    if platform.startswith("win"):
        base = env.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(base) / "codecarbon" / CREDENTIALS_FILE
    xdg = env.get("XDG_CONFIG_HOME")
    base_path = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".config"
    return base_path / "codecarbon" / CREDENTIALS_FILE


def _private_directory(path: Path) -> None:
    """The credentials' folder, made and checked as the state directory is (0700, ours, no link)."""
    from codecarbon.support.statedir import StateDirError, ensure_private_dir

    try:
        ensure_private_dir(path, "credentials folder")
    except StateDirError as error:
        raise AuthError(f"{error}; refusing to keep credentials there") from None


def save_credentials(data: Mapping[str, Any], path: Path | None = None) -> Path:
    """Write ``data`` as JSON, 0600, atomically (support/files.py: an O_EXCL|O_NOFOLLOW temporary file renamed
    over the target, so a link planted at the target is replaced, never written through)."""
    from codecarbon.support.files import atomic_write

    target = path or credentials_path()
    _private_directory(target.parent)
    atomic_write(target, json.dumps(dict(data), indent=2, sort_keys=True).encode("utf-8"), mode=0o600, fsync=True)
    return target


def load_credentials(path: Path | None = None) -> dict[str, Any] | None:
    """The stored credentials, or None when there are none. Never follows a link; tightens loose permissions."""
    from codecarbon.support.files import open_no_follow

    target = path or credentials_path()
    try:
        descriptor = open_no_follow(target, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise AuthError(f"cannot read {target}: {error.strerror or error}") from None
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise AuthError(f"{target} is not a regular file")
        if hasattr(os, "getuid"):
            if info.st_uid != os.getuid():
                raise AuthError(f"{target} belongs to another user; run `codecarbon login` again")
            if info.st_mode & 0o077:
                os.fchmod(handle.fileno(), 0o600)
        raw = handle.read(1_000_000)
    try:
        data = json.loads(raw)
    except ValueError:
        raise AuthError(f"{target} is not valid JSON; run `codecarbon login` again") from None
    if not isinstance(data, dict) or not isinstance(data.get("token"), dict):
        raise AuthError(f"{target} does not hold codecarbon credentials; run `codecarbon login` again")
    return data


def legacy_credentials_note(cwd: Path | None = None) -> str | None:
    """3.3.2 wrote ./credentials.json in the working directory; we never read it, but we say so once."""
    legacy = (cwd or Path.cwd()) / CREDENTIALS_FILE
    if legacy.is_file():
        return (f"note: {legacy} looks like CodeCarbon 3.x credentials kept in the working directory; they are "
                f"not used (credentials now live in {credentials_path().parent}). Delete that file.")
    return None


# ------------------------------------------------------------------------------------------------ provider
@dataclass(frozen=True)
class Provider:
    """The parts of the discovery document we use."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


def _session(client_id: str, redirect_uri: str | None = None, token: Mapping[str, Any] | None = None) -> Any:
    from authlib.integrations.requests_client import OAuth2Session

    return OAuth2Session(client_id=client_id, redirect_uri=redirect_uri, scope=SCOPE,
                         token_endpoint_auth_method="none", code_challenge_method="S256",
                         token=dict(token) if token else None)


def _get_json(session: Any, url: str, what: str, timeout_s: float) -> Any:
    import requests

    try:
        response = session.get(url, timeout=timeout_s, withhold_token=True, allow_redirects=False)
    except requests.RequestException as error:
        raise AuthError(f"could not reach {what} at {url}: {type(error).__name__}") from None
    if response.status_code != 200:
        raise AuthError(f"{what} at {url} answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise AuthError(f"{what} at {url} did not answer JSON") from None


def discover(settings: AuthSettings, session: Any, timeout_s: float = 10.0) -> Provider:
    """Read the discovery document; its issuer must be the one the well-known URL names (OIDC Discovery 4.3)."""
    document = _get_json(session, settings.well_known_url, "the identity provider's discovery document", timeout_s)
    if not isinstance(document, dict):
        raise AuthError(f"{settings.well_known_url} is not a discovery document")
    fields = {}
    for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(name)
        if not isinstance(value, str) or not value:
            raise AuthError(f"the discovery document at {settings.well_known_url} has no {name}")
        fields[name] = value if name == "issuer" else _checked_url(value, f"the provider's {name}")
    suffix = "/.well-known/openid-configuration"
    if settings.well_known_url.endswith(suffix):
        expected = settings.well_known_url[: -len(suffix)]
        if fields["issuer"].rstrip("/") != expected.rstrip("/"):
            raise AuthError(f"the discovery document names issuer {fields['issuer']!r}, not {expected!r}")
    return Provider(**fields)


def provider_keys(provider: Provider, session: Any, timeout_s: float = 10.0) -> Any:
    """The provider's signing keys (a joserfc KeySet)."""
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    document = _get_json(session, provider.jwks_uri, "the identity provider's keys (JWKS)", timeout_s)
    try:
        return KeySet.import_key_set(document)
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise AuthError(f"the keys at {provider.jwks_uri} cannot be used: {error}") from None


# --------------------------------------------------------------------------------------------- validation
def _decode(raw: str, keys: Any, what: str) -> dict[str, Any]:
    from joserfc import jwt
    from joserfc.errors import JoseError

    try:
        token = jwt.decode(raw, keys, algorithms=list(ACCEPTED_ALGORITHMS))
    except (JoseError, ValueError, TypeError) as error:
        raise TokenRejected(f"the {what} is not signed by the provider's keys ({type(error).__name__})") from None
    return dict(token.claims)


def _check_claims(claims: dict[str, Any], what: str, issuer: str, min_remaining_s: float) -> None:
    from joserfc.errors import ExpiredTokenError, JoseError
    from joserfc.jwt import JWTClaimsRegistry

    registry = JWTClaimsRegistry(leeway=LEEWAY_S, iss={"essential": True, "value": issuer}, exp={"essential": True})
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise TokenExpired(f"the {what} has expired") from None
    except JoseError as error:
        raise TokenRejected(f"the {what} was rejected: {error}") from None
    if float(claims["exp"]) - time.time() < min_remaining_s:
        raise TokenExpired(f"the {what} expires in less than {min_remaining_s:.0f} s")


def validate_id_token(raw: str, keys: Any, provider: Provider, client_id: str, *, nonce: str | None,
                      subject: str | None = None) -> dict[str, Any]:
    """OIDC Core 3.1.3.7: signature, iss, aud holds our client (azp when several), exp/iat, and our nonce."""
    claims = _decode(raw, keys, "ID token")
    _check_claims(claims, "ID token", provider.issuer, 0)
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else list(audience or [])
    if client_id not in audiences:
        raise TokenRejected(f"the ID token is meant for {audiences!r}, not for client {client_id!r}")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise TokenRejected("the ID token has several audiences and is not authorized for this client")
    if nonce is not None and claims.get("nonce") != nonce:
        raise TokenRejected("the ID token does not answer our login request (nonce mismatch)")
    if subject is not None and claims.get("sub") != subject:
        raise TokenRejected("the refreshed ID token is for another user")
    return claims


def validate_access_token(raw: str, keys: Any, provider: Provider, client_id: str,
                          min_remaining_s: float = MIN_REMAINING_S) -> dict[str, Any]:
    """Signature, iss, exp, and that it was issued to this client (aud holds it, or azp names it)."""
    claims = _decode(raw, keys, "access token")
    _check_claims(claims, "access token", provider.issuer, min_remaining_s)
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else list(audience or [])
    if client_id not in audiences and claims.get("azp") != client_id:
        raise TokenRejected(f"the access token was issued to {claims.get('azp') or audiences!r}, "
                            f"not to client {client_id!r}")
    return claims


def _looks_like_jwt(raw: str) -> bool:
    return raw.count(".") == 2


def checked_access_expiry(token: Mapping[str, Any], keys: Any, provider: Provider, client_id: str,
                          min_remaining_s: float) -> float:
    """When the access token expires, after checking it. A JWT is validated; an opaque token (some providers
    issue them) cannot be, so only the lifetime the token endpoint gave with it counts."""
    raw = str(token.get("access_token") or "")
    if not raw:
        raise TokenRejected("there is no access token")
    if _looks_like_jwt(raw):
        return float(validate_access_token(raw, keys, provider, client_id, min_remaining_s)["exp"])
    expires_at = token.get("expires_at")
    if not isinstance(expires_at, (int, float)) or isinstance(expires_at, bool):
        raise TokenExpired("the access token's lifetime is unknown")
    if float(expires_at) - time.time() < min_remaining_s:
        raise TokenExpired("the access token has expired")
    return float(expires_at)


# ------------------------------------------------------------------------------------------- the redirect
class _CallbackServer(HTTPServer):
    """Loopback listener for the one redirect we wait for; other requests get 404 and are ignored."""

    expected_state = ""
    callback_query: dict[str, list[str]] | None = None


class _CallbackHandler(BaseHTTPRequestHandler):
    server: _CallbackServer
    timeout = 5  # a browser's idle pre-connection must not hold the one-threaded listener

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if parts.path != "/callback":
            self._answer(404, "Not found.")
            return
        state = (query.get("state") or [""])[0]
        if not secrets.compare_digest(state, self.server.expected_state):
            self._answer(400, "This sign-in answer is not for the login in progress; it was ignored.")
            return
        self.server.callback_query = query
        if "error" in query:
            self._answer(400, "Sign-in failed; see the terminal.")
        else:
            self._answer(200, "You are signed in to CodeCarbon. You can close this window.")

    def _answer(self, status: int, text: str) -> None:
        body = f"<!doctype html><title>CodeCarbon</title><p>{text}</p>".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def _bind_listener(port: int) -> _CallbackServer:
    try:
        return _CallbackServer(("127.0.0.1", port), _CallbackHandler)
    except OSError as error:
        hint = " (pass --port 0 to use any free port, if your provider accepts any loopback port)" if port else ""
        raise AuthError(f"cannot listen on 127.0.0.1:{port} for the sign-in redirect: "
                        f"{error.strerror or error}{hint}") from None


def _wait_for_callback(server: _CallbackServer, deadline: float) -> dict[str, list[str]]:
    while server.callback_query is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AuthError("no sign-in answer came back in time; run `codecarbon login` again")
        server.timeout = min(remaining, 1.0)
        server.handle_request()
    return server.callback_query


# --------------------------------------------------------------------------------------------------- login
@dataclass(frozen=True)
class LoginResult:
    path: Path
    user: str
    expires_at: float
    access_token: str


def login(settings: AuthSettings, *, port: int = DEFAULT_REDIRECT_PORT,
          open_browser: Callable[[str], Any] | None = None, wait_s: float = 300.0,
          timeout_s: float = 10.0, path: Path | None = None) -> LoginResult:
    """Sign in through the browser and keep the validated tokens; nothing is stored unless every check passed."""
    require_login_libraries()
    from authlib.common.security import generate_token

    session = _session(settings.client_id)
    provider = discover(settings, session, timeout_s)
    server = _bind_listener(port)
    try:
        redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/callback"
        session.redirect_uri = redirect_uri
        verifier = generate_token(64)
        nonce = generate_token(32)
        url, state = session.create_authorization_url(provider.authorization_endpoint, code_verifier=verifier,
                                                      nonce=nonce)
        server.expected_state = state
        (open_browser or _open_browser)(url)
        query = _wait_for_callback(server, time.monotonic() + wait_s)
    finally:
        server.server_close()
    if "error" in query:
        reason = (query.get("error_description") or query["error"])[0]
        raise AuthError(f"the identity provider refused the sign-in: {_printable(reason)}")
    code = (query.get("code") or [""])[0]
    if not code:
        raise AuthError("the sign-in answer carried no authorization code")
    try:
        token = session.fetch_token(provider.token_endpoint, grant_type="authorization_code", code=code,
                                    code_verifier=verifier, timeout=timeout_s)
    except _token_endpoint_failures() as error:
        raise AuthError(f"the identity provider did not issue tokens: {_describe(error)}") from None
    keys = provider_keys(provider, session, timeout_s)
    if not token.get("id_token"):
        raise TokenRejected("the identity provider issued no ID token")
    identity = validate_id_token(token["id_token"], keys, provider, settings.client_id, nonce=nonce)
    expires_at = checked_access_expiry(token, keys, provider, settings.client_id, 0)
    stored = _stored(settings, provider, token, identity, expires_at)
    target = save_credentials(stored, path)
    return LoginResult(target, _user_label(identity), float(stored["token"]["expires_at"]),
                       str(token["access_token"]))


def _open_browser(url: str) -> None:
    import webbrowser

    print("Opening your browser to sign in to CodeCarbon. If it does not open, visit:", file=sys.stderr)
    print(url, file=sys.stderr, flush=True)
    try:
        webbrowser.open(url)
    except Exception:  # no browser here: the printed URL is the way
        pass


def print_url_only(url: str) -> None:
    """For machines without a browser (and for tests): the user opens the URL elsewhere on this machine."""
    print("Open this URL in a browser on this machine to sign in to CodeCarbon:", file=sys.stderr)
    print(url, file=sys.stderr, flush=True)


def _token_endpoint_failures() -> tuple[type[Exception], ...]:
    """What a token request raises: authlib's errors (its requests client and its core), no answer, bad JSON."""
    from authlib.integrations.base_client import OAuthError
    from authlib.oauth2 import OAuth2Error
    from requests import RequestException

    return OAuthError, OAuth2Error, RequestException, ValueError


def _printable(text: object, limit: int = 200) -> str:
    """Provider-supplied text reaches the terminal: no control characters (escape sequences), bounded length."""
    return "".join(c if c.isprintable() else "?" for c in str(text))[:limit]


def _describe(error: BaseException) -> str:
    text = getattr(error, "description", None) or getattr(error, "error", None) or str(error)
    return f"{type(error).__name__}: {_printable(text)}"


def _user_label(identity: Mapping[str, Any]) -> str:
    for name in ("preferred_username", "email", "name", "sub"):
        if isinstance(identity.get(name), str) and identity[name]:
            return str(identity[name])
    return "(unknown user)"


def _stored(settings: AuthSettings, provider: Provider, token: Mapping[str, Any], identity: Mapping[str, Any],
            expires_at: float) -> dict[str, Any]:
    kept = {k: token[k] for k in ("access_token", "refresh_token", "id_token", "token_type", "scope")
            if token.get(k) is not None}
    kept["expires_at"] = expires_at
    return {"version": 1, "well_known_url": settings.well_known_url, "client_id": settings.client_id,
            "issuer": provider.issuer, "subject": identity.get("sub"), "user": _user_label(identity),
            "token": kept}


# ------------------------------------------------------------------------------------------------- tokens
def access_token(settings: AuthSettings | None = None, *, path: Path | None = None,
                 timeout_s: float = 10.0, min_remaining_s: float = MIN_REMAINING_S) -> str:
    """A validated access token with some life left, refreshed with the refresh token (and re-stored) if needed."""
    require_login_libraries("codecarbon get-token")

    stored = load_credentials(path)
    if stored is None:
        raise AuthError("not logged in: run `codecarbon login` first")
    wanted = settings or AuthSettings(stored.get("well_known_url", ""), stored.get("client_id", ""))
    if (stored.get("well_known_url"), stored.get("client_id")) != (wanted.well_known_url, wanted.client_id):
        raise AuthError(f"the stored login is for {stored.get('well_known_url')} (client {stored.get('client_id')}),"
                        f" not {wanted.well_known_url}; run `codecarbon login` again")
    token = stored["token"]
    session = _session(wanted.client_id, token=token)
    provider = discover(wanted, session, timeout_s)
    if provider.issuer != stored.get("issuer"):
        raise AuthError("the identity provider's issuer changed since you logged in; run `codecarbon login` again")
    keys = provider_keys(provider, session, timeout_s)
    try:
        checked_access_expiry(token, keys, provider, wanted.client_id, min_remaining_s)
        return str(token["access_token"])
    except TokenRejected as problem:
        rejected = problem
    refresh = token.get("refresh_token")
    if not refresh:
        raise AuthError(f"{rejected} and there is no refresh token; run `codecarbon login` again")
    try:
        fresh = session.refresh_token(provider.token_endpoint, refresh_token=refresh, timeout=timeout_s)
    except _token_endpoint_failures() as error:
        raise AuthError(f"{rejected}, and refreshing it failed ({_describe(error)}); "
                        "run `codecarbon login` again") from None
    expires_at = checked_access_expiry(fresh, keys, provider, wanted.client_id, 0)
    identity: Mapping[str, Any] = {"sub": stored.get("subject"), "preferred_username": stored.get("user")}
    if fresh.get("id_token"):
        identity = validate_id_token(fresh["id_token"], keys, provider, wanted.client_id, nonce=None,
                                     subject=stored.get("subject"))
    merged = dict(fresh)
    merged.setdefault("refresh_token", refresh)
    if not merged.get("id_token") and token.get("id_token"):
        merged["id_token"] = token["id_token"]
    kept = {k: stored[k] for k in (REMEMBERED_ORIGIN_KEY,) if stored.get(k)}  # not the provider's to change
    save_credentials({**_stored(wanted, provider, merged, identity, expires_at), **kept}, path)
    return str(fresh["access_token"])


def remembered_api_origins(path: Path | None = None) -> list[str]:
    """The API origin the stored login was checked against at login (cli/bearer.py), if any."""
    try:
        stored = load_credentials(path)
    except AuthError:
        return []
    found = stored.get(REMEMBERED_ORIGIN_KEY) if stored else None
    return [found] if isinstance(found, str) and found else []


def remember_api_origin(endpoint: str, path: Path | None = None) -> None:
    """Keep the origin of the API the user just logged in for: later commands may send the token there even
    when only a folder's config names it."""
    from codecarbon.cli.bearer import origin

    stored = load_credentials(path)
    if stored is not None:
        save_credentials({**stored, REMEMBERED_ORIGIN_KEY: origin(endpoint)}, path)


def token_for_api(settings: AuthSettings | None = None, *, warn: Callable[[str], Any] | None = None,
                  timeout_s: float = 10.0) -> str | None:
    """For commands that work without login too (init): the token when there is a usable one, else None.

    No credentials file means no login: nothing is imported. A login that cannot be used is reported through
    ``warn`` and the command goes on without it.
    """
    if not credentials_path().exists():
        return None
    try:
        return access_token(settings, timeout_s=timeout_s)
    except (AuthError, MissingDependencyError) as problem:
        if warn is not None:
            warn(f"your `codecarbon login` cannot be used ({problem}); going on without it")
        return None

