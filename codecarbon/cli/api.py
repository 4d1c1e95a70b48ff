"""The one CodeCarbon API call the CLI makes: create an experiment for `codecarbon init`.

Standard library only (urllib), bounded in time; every failure becomes ApiUnavailable with a readable reason, so
the command can fall back to a local id instead of showing a traceback.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timezone

#: The project that `codecarbon init` attaches experiments to when none is configured (the public demo project).
DEFAULT_PROJECT_ID = "e60afa92-17b7-4720-91a0-1ae91e409ba1"


class ApiUnavailable(Exception):
    """The API could not be reached or did not answer as expected."""


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


def create_experiment(api_endpoint: str, body: dict, *, api_key: str | None = None,
                      timeout_s: float = 5.0) -> str:
    """POST ``{api_endpoint}/experiments`` and return the new experiment's id."""
    url = api_endpoint.rstrip("/") + "/experiments"
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if api_key:
        headers["x-api-token"] = api_key
    request = urllib.request.Request(url, data=json.dumps(body).encode("utf-8"), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            status = response.status
            payload = response.read(1_000_000)
    except urllib.error.HTTPError as error:
        raise ApiUnavailable(f"{url} answered HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise ApiUnavailable(f"{url} could not be reached ({reason})") from None
    if status not in (200, 201):
        raise ApiUnavailable(f"{url} answered HTTP {status}")
    try:
        answer = json.loads(payload)
        experiment_id = answer["id"]
    except (ValueError, KeyError, TypeError):
        raise ApiUnavailable(f"{url} answered without an experiment id") from None
    if not isinstance(experiment_id, str) or not experiment_id.strip():
        raise ApiUnavailable(f"{url} answered with an unusable experiment id {experiment_id!r}")
    return experiment_id.strip()
