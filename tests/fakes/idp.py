"""An OpenID Connect provider and a CodeCarbon API of our own on 127.0.0.1, for the login tests.

The provider is small but real: a discovery document, a JWKS with a freshly generated RSA key, /authorize that
checks the client, the redirect URI and the PKCE challenge and answers with a one-time code, and /token that
checks the code verifier and issues RS256-signed ID and access tokens plus a refresh token (refresh grant too).
``misbehave`` makes it issue a faulty token so tests can see the client reject it.

The API checks every bearer token against the provider's key, issuer, audience/azp and expiry, as a server would.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "codecarbon-cli"
_KEY: RSAKey | None = None


def signing_key() -> RSAKey:
    """One 2048-bit RSA key per test process (generating one costs ~50 ms)."""
    global _KEY
    if _KEY is None:
        _KEY = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig", "alg": "RS256"})
    return _KEY


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _tamper(token: str) -> str:
    """Change one claim and keep the old signature."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True


@dataclass
class FakeIdentityProvider:
    """``misbehave``: None, or one of "tampered", "wrong-audience", "expired", "wrong-nonce", "wrong-issuer",
    "foreign-key" (signed by another key), applied to the ID token ("...-access" variants: to the access token).
    ``access_lifetime_s`` sets the access tokens' life; ``deny`` makes /authorize answer error=access_denied;
    ``discovery_issuer`` makes the discovery document claim another issuer; ``opaque_access`` issues access tokens
    that are not JWTs (as some providers do)."""

    access_lifetime_s: int = 600
    misbehave: str | None = None
    deny: bool = False
    discovery_issuer: str | None = None
    opaque_access: bool = False
    user: str = "ada"
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)
    issued_access_tokens: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: _Server | None = None

    # ---------------------------------------------------------------------------------------------- urls
    @property
    def issuer(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/realms/test"

    @property
    def well_known_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def received(self, path_end: str) -> list[dict[str, list[str]]]:
        with self.lock:
            return [params for _method, path, params in self.requests if path.endswith(path_end)]

    # -------------------------------------------------------------------------------------------- tokens
    def _sign(self, claims: dict[str, Any], key: RSAKey | None = None) -> str:
        chosen = key or signing_key()
        return jwt.encode({"alg": "RS256", "kid": chosen.kid, "typ": "JWT"}, claims, chosen)

    def _tokens(self, nonce: str | None) -> dict[str, Any]:
        now = int(time.time())
        base = {"iss": self.issuer, "sub": f"user-{self.user}", "iat": now, "exp": now + self.access_lifetime_s,
                "preferred_username": self.user}
        access = dict(base, aud="account", azp=CLIENT_ID, typ="Bearer", scope="openid offline_access")
        identity = dict(base, aud=CLIENT_ID, azp=CLIENT_ID, typ="ID", exp=now + 3600)
        if nonce is not None:
            identity["nonce"] = nonce
        on_access = (self.misbehave or "").endswith("-access")
        fault = (self.misbehave or "").removesuffix("-access")
        claims = access if on_access else identity
        key = None
        if fault == "wrong-audience":
            claims["aud"] = "another-client"
            claims["azp"] = "another-client"
        elif fault == "expired":
            claims["exp"] = now - 3600
        elif fault == "wrong-nonce":
            claims["nonce"] = "not-your-nonce"
        elif fault == "wrong-issuer":
            claims["iss"] = "http://127.0.0.1:1/realms/other"
        elif fault == "foreign-key":
            key = RSAKey.generate_key(2048, parameters={"kid": signing_key().kid})
        access_token = self._sign(access, key if claims is access else None)
        id_token = self._sign(identity, key if claims is identity else None)
        if fault == "tampered":
            if claims is access:
                access_token = _tamper(access_token)
            else:
                id_token = _tamper(id_token)
        if self.opaque_access:
            access_token = secrets.token_urlsafe(32)
        refresh = secrets.token_urlsafe(24)
        with self.lock:
            self.refresh_tokens[refresh] = self.user
            self.issued_access_tokens.append(access_token)
        return {"access_token": access_token, "id_token": id_token, "refresh_token": refresh,
                "token_type": "Bearer", "expires_in": self.access_lifetime_s, "scope": "openid offline_access"}

    def public_keys(self) -> KeySet:
        return KeySet([signing_key()])

    # ---------------------------------------------------------------------------------------------- http
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        params = parse_qs(parts.query)
        if handler.command == "POST":
            length = int(handler.headers.get("Content-Length") or 0)
            params = parse_qs(handler.rfile.read(length).decode())
        with self.lock:
            self.requests.append((handler.command, parts.path, params))
        one = {k: v[0] for k, v in params.items()}
        path = parts.path.removeprefix("/realms/test")
        if path == "/.well-known/openid-configuration":
            return self._json(handler, 200, {
                "issuer": self.discovery_issuer or self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["RS256"]})
        if path == "/jwks":
            return self._json(handler, 200, self.public_keys().as_dict(private=False))
        if path == "/authorize":
            return self._authorize(handler, one)
        if path == "/token" and handler.command == "POST":
            return self._token(handler, one)
        return self._json(handler, 404, {"error": "not_found"})

    def _authorize(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        redirect = query.get("redirect_uri", "")
        target = urlsplit(redirect)
        if query.get("client_id") != CLIENT_ID or target.hostname not in ("localhost", "127.0.0.1") \
                or target.path != "/callback":
            return self._json(handler, 400, {"error": "invalid_request", "error_description": "bad client"})
        answer: dict[str, str] = {"state": query.get("state", "")}
        if self.deny:
            answer["error"] = "access_denied"
            answer["error_description"] = "The user said no\x1b[2J"
        elif query.get("response_type") != "code" or query.get("code_challenge_method") != "S256" \
                or len(query.get("code_challenge", "")) < 43 or "openid" not in query.get("scope", "").split():
            answer["error"] = "invalid_request"
        else:
            code = secrets.token_urlsafe(16)
            with self.lock:
                self.codes[code] = {"challenge": query["code_challenge"], "redirect_uri": redirect,
                                    "nonce": query.get("nonce")}
            answer["code"] = code
        handler.send_response(302)
        handler.send_header("Location", f"{redirect}?{urlencode(answer)}")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _token(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        if form.get("client_id") != CLIENT_ID:
            return self._json(handler, 401, {"error": "invalid_client"})
        if form.get("grant_type") == "authorization_code":
            with self.lock:
                grant = self.codes.pop(form.get("code", ""), None)  # one use only
            if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
                return self._json(handler, 400, {"error": "invalid_grant"})
            if _s256(form.get("code_verifier", "")) != grant["challenge"]:
                return self._json(handler, 400, {"error": "invalid_grant", "error_description": "PKCE failed"})
            return self._json(handler, 200, self._tokens(grant["nonce"]))
        if form.get("grant_type") == "refresh_token":
            with self.lock:
                known = self.refresh_tokens.pop(form.get("refresh_token", ""), None)  # rotated on use
            if known is None:
                return self._json(handler, 400, {"error": "invalid_grant"})
            return self._json(handler, 200, self._tokens(None))
        return self._json(handler, 400, {"error": "unsupported_grant_type"})

    @staticmethod
    def _json(handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def start(self) -> FakeIdentityProvider:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                owner._handle(self)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class FakeCodeCarbonApi:
    """The API calls the CLI makes, each checking its bearer token as the real API would (401 otherwise)."""

    idp: FakeIdentityProvider
    requests: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: _Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def received(self, path: str) -> list[tuple[str, str, dict[str, str], Any]]:
        with self.lock:
            return [r for r in self.requests if r[1] == path]

    def _authorized(self, headers: dict[str, str]) -> bool:
        scheme, _, raw = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not raw:
            return False
        try:
            token = jwt.decode(raw, self.idp.public_keys(), algorithms=["RS256"])
            jwt.JWTClaimsRegistry(iss={"essential": True, "value": self.idp.issuer},
                                  exp={"essential": True}).validate(token.claims)
        except Exception:
            return False
        return token.claims.get("azp") == CLIENT_ID

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        headers = {k.lower(): v for k, v in handler.headers.items()}
        path = urlsplit(handler.path).path
        with self.lock:
            self.requests.append((handler.command, path, headers, body))
        authorized = self._authorized(headers)
        if path == "/experiments" and handler.command == "POST":
            # like the real API: an API key or a login token will do
            if not authorized and not headers.get("x-api-token"):
                return FakeIdentityProvider._json(handler, 401, {"detail": "Not authenticated"})
            return FakeIdentityProvider._json(handler, 201, {"id": "exp-with-login"})
        if not authorized:
            return FakeIdentityProvider._json(handler, 401, {"detail": "Not authenticated"})
        if path == "/auth/check":
            return FakeIdentityProvider._json(handler, 200, {"user": self.idp.user})
        if path == "/organizations" and handler.command == "GET":
            return FakeIdentityProvider._json(handler, 200, [{"id": "org-1", "name": "Ada's lab"}])
        if path.startswith("/projects/") and path.endswith("/api-tokens") and handler.command == "POST":
            return FakeIdentityProvider._json(handler, 201, {"id": "tok-1", "name": (body or {}).get("name"),
                                                             "token": "project-api-token-123", "access": 2})
        return FakeIdentityProvider._json(handler, 404, {"detail": "Not found"})

    def start(self) -> FakeCodeCarbonApi:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                owner._handle(self)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
