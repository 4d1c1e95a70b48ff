"""The CodeCarbon API calls the CLI makes: create an experiment (`init`), check a login, list organizations,
create a project API key (`test-api`, `get-token`).

Through the package's one HTTP client (support/http.py), bounded in time; every failure becomes ApiUnavailable
with a readable reason, so the command can fall back to a local id instead of showing a traceback.
"""

from __future__ import annotations

import urllib.parse
from datetime import datetime, timezone
from typing import Any

from codecarbon.support.errors import ApiUnavailable  # defined in the error tree, importable here

#: The project that `codecarbon init` attaches experiments to when none is configured (the public demo project).
DEFAULT_PROJECT_ID = "e60afa92-17b7-4720-91a0-1ae91e409ba1"


class ApiRefused(ApiUnavailable):
    """The API answered 401/403: it does not accept the token or key we sent."""


def experiment_request_body(project_id: str, country_iso_code: str | None = None,
                            country_name: str | None = None, region: str | None = None) -> dict:
    """What the API needs to create an experiment; location fields stay empty when unknown."""
    return {
        "timestamp": datetime.now(timezone.utc).isoformat(),
        "name": "Code Carbon user test",
        "description": "Code Carbon user test with default project",
        "on_cloud": False,
        "project_id": project_id,
        "country_name": country_name,
        "country_iso_code": country_iso_code,
        "region": region,
    }


def _call(method: str, api_endpoint: str, path: str, *, body: dict | None = None, api_key: str | None = None,
          bearer_token: str | None = None, timeout_s: float = 5.0) -> tuple[str, Any]:
    """One bounded request to the API; returns (url, decoded JSON answer) or raises ApiUnavailable.

    A login token goes as ``Authorization: Bearer``, an API key as ``x-api-token``; neither ever appears in a
    message, and no redirect is followed (it would carry them elsewhere).
    """
    from codecarbon.support.http import HttpError, redact_url, request

    url = api_endpoint.rstrip("/") + path
    shown = redact_url(url)
    if bearer_token:
        from codecarbon.cli.bearer import transport_refusal
        from codecarbon.support.http import with_scheme

        refusal = transport_refusal(with_scheme(url))
        if refusal is not None:
            raise ApiUnavailable(refusal)
    headers = {"Accept": "application/json"}
    if api_key:
        headers["x-api-token"] = api_key
    if bearer_token:
        headers["Authorization"] = f"Bearer {bearer_token}"
    try:
        response = request(method, url, json=body, headers=headers, timeout_s=timeout_s,
                           max_body_bytes=1_000_000)
    except HttpError as error:
        raise ApiUnavailable(f"{shown} could not be reached ({error})") from None
    if response.status in (401, 403):
        raise ApiRefused(f"{shown} refused the credentials (HTTP {response.status})")
    if not response.ok:
        raise ApiUnavailable(f"{shown} answered HTTP {response.status}")
    if not response.body:
        return shown, None
    try:
        return shown, response.json()
    except HttpError:
        raise ApiUnavailable(f"{shown} did not answer JSON") from None


def create_experiment(api_endpoint: str, body: dict, *, api_key: str | None = None,
                      bearer_token: str | None = None, timeout_s: float = 5.0) -> str:
    """POST ``{api_endpoint}/experiments`` and return the new experiment's id."""
    url, answer = _call("POST", api_endpoint, "/experiments", body=body, api_key=api_key,
                        bearer_token=bearer_token, timeout_s=timeout_s)
    experiment_id = answer.get("id") if isinstance(answer, dict) else None
    if experiment_id is None:
        raise ApiUnavailable(f"{url} answered without an experiment id")
    if not isinstance(experiment_id, str) or not experiment_id.strip():
        raise ApiUnavailable(f"{url} answered with an unusable experiment id {experiment_id!r}")
    return experiment_id.strip()


def check_auth(api_endpoint: str, bearer_token: str, *, timeout_s: float = 5.0) -> Any:
    """GET /auth/check: does the API accept this login token? (what 3.3.2 asks right after login)."""
    return _call("GET", api_endpoint, "/auth/check", bearer_token=bearer_token, timeout_s=timeout_s)[1]


def list_organizations(api_endpoint: str, bearer_token: str, *, timeout_s: float = 5.0) -> list:
    """GET /organizations with the login token (3.3.2's `test-api`)."""
    url, answer = _call("GET", api_endpoint, "/organizations", bearer_token=bearer_token, timeout_s=timeout_s)
    if not isinstance(answer, list):
        raise ApiUnavailable(f"{url} did not answer a list of organizations")
    return answer


def create_project_token(api_endpoint: str, bearer_token: str, project_id: str, *, name: str = "codecarbon-cli",
                         access: int = 2, timeout_s: float = 5.0) -> str:
    """POST /projects/{id}/api-tokens and return the new API key (3.3.2's `get-token PROJECT_ID`).

    ``access`` 2 is write access, what a tracker needs to send runs.
    """
    path = f"/projects/{urllib.parse.quote(project_id, safe='')}/api-tokens"
    url, answer = _call("POST", api_endpoint, path, body={"name": name, "access": access},
                        bearer_token=bearer_token, timeout_s=timeout_s)
    token = answer.get("token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise ApiUnavailable(f"{url} answered without a token")
    return token
