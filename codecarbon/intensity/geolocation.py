"""Find where an online tracker runs: IP geolocation and cloud instance metadata, all at once, bounded.

Everything runs on the caller's thread (the tracker's warm-up), within `timeout_s` in all: first the three cloud
metadata services in turn, with a quarter of the time (on a cloud the host answers in milliseconds; elsewhere
that address does not answer, and the first silence ends the search), then IP geolocation with what is left. A
machine without network costs one timeout, and no thread of its own.
Trackers ask through `locate_once`: one lookup per process, its answer shared by every later tracker.
When nothing answers the location is unknown and the world average applies, with a warning: the location
is never silently made up.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from typing import Any, Optional

from codecarbon.external.logger import log_once, logger
from codecarbon.intensity import tables
from codecarbon.intensity.location import Location, country_name_of
from codecarbon.support import http as _http

GEOJS_URL = "https://get.geojs.io/v1/ip/geo.json"
IPINFO_URL = "https://ipinfo.io/json"
METADATA_BASE = "http://169.254.169.254"

_GCP_ZONE_PATH = "/computeMetadata/v1/instance/zone"
_AWS_TOKEN_PATH = "/latest/api/token"
_AWS_DOCUMENT_PATH = "/latest/dynamic/instance-identity/document"
_AZURE_COMPUTE_PATH = "/metadata/instance/compute?api-version=2021-02-01"
CLOUD_SHARE = 0.25  # of detect_online_location's time, for the cloud metadata services


def _float(value: Any) -> Optional[float]:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN is no coordinate


def _region(value: Any) -> Optional[str]:
    text = " ".join(str(value or "").split()).lower()
    return text or None


def geo_from_geojs(timeout_s: float, url: Optional[str] = None) -> Optional[dict[str, Any]]:
    """{"iso3", "name", "region", "latitude", "longitude", "iso2"} from get.geojs.io (or ``url``, which answers
    alike), or None."""
    answer = _http.get_json(url or GEOJS_URL, timeout_s=timeout_s)
    if not isinstance(answer, dict):
        return None
    iso3 = str(answer.get("country_code3") or "").upper()
    if len(iso3) != 3:
        return None
    return {"iso3": iso3, "name": answer.get("country") or None, "region": _region(answer.get("region")),
            "latitude": _float(answer.get("latitude")), "longitude": _float(answer.get("longitude")),
            "iso2": str(answer.get("country_code") or "").upper() or None}


def geo_from_ipinfo(timeout_s: float) -> Optional[dict[str, Any]]:
    """The same fields from ipinfo.io, whose country is an alpha-2 code and coordinates a "lat,lon" string."""
    answer = _http.get_json(IPINFO_URL, timeout_s=timeout_s)
    if not isinstance(answer, dict):
        return None
    iso2 = str(answer.get("country") or "").upper()
    iso3 = tables.alpha3_of(iso2) if len(iso2) == 2 else None
    if iso3 is None:
        return None
    lat, _, lon = str(answer.get("loc") or "").partition(",")
    return {"iso3": iso3, "name": None, "region": _region(answer.get("region")),
            "latitude": _float(lat), "longitude": _float(lon), "iso2": iso2}


def geo_by_ip(timeout_s: float) -> Optional[dict[str, Any]]:
    """get.geojs.io first, ipinfo.io only when that gives nothing: one third party asked when all is well."""
    deadline = time.monotonic() + timeout_s
    try:
        found = geo_from_geojs(timeout_s)
    except Exception as error:  # a third party's reply: any failure means try the next one
        logger.debug("Geolocation by get.geojs.io failed: %s", error)
        found = None
    left = deadline - time.monotonic()
    if found is None and left > 0:
        found = geo_from_ipinfo(left)
    return found


def cloud_from_gcp(timeout_s: float) -> Optional[tuple[str, str]]:
    """("gcp", region) from the instance's zone, e.g. projects/1/zones/europe-west1-b → europe-west1."""
    answer = _http.request("GET", METADATA_BASE + _GCP_ZONE_PATH, timeout_s=timeout_s,
                           headers={"Metadata-Flavor": "Google"}).raise_for_status()
    if answer.headers.get("metadata-flavor", "").lower() != "google":
        return None  # something else answered at that address
    zone = answer.body.decode("utf-8", "replace").strip().rsplit("/", 1)[-1]
    region, dash, suffix = zone.rpartition("-")
    return ("gcp", region.lower()) if dash and region and suffix else None


def cloud_from_aws(timeout_s: float) -> Optional[tuple[str, str]]:
    """("aws", region) from the instance identity document; IMDSv2 token first, IMDSv1 if that is refused."""
    headers = {}
    try:
        token = _http.request("PUT", METADATA_BASE + _AWS_TOKEN_PATH, timeout_s=timeout_s,
                              headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}).raise_for_status()
        headers["X-aws-ec2-metadata-token"] = token.body.decode("ascii", "replace").strip()
    except _http.HttpError as error:
        if error.status is None:
            raise  # nothing listens: no point asking again
    document = _http.get_json(METADATA_BASE + _AWS_DOCUMENT_PATH, timeout_s=timeout_s, headers=headers)
    region = str(document.get("region") or "").strip().lower() if isinstance(document, dict) else ""
    return ("aws", region) if region else None


def cloud_from_azure(timeout_s: float) -> Optional[tuple[str, str]]:
    """("azure", location) from the instance metadata service, e.g. westeurope."""
    compute = _http.get_json(METADATA_BASE + _AZURE_COMPUTE_PATH, timeout_s=timeout_s, headers={"Metadata": "true"})
    region = str(compute.get("location") or "").strip().lower() if isinstance(compute, dict) else ""
    return ("azure", region) if region else None


def cloud_by_metadata(timeout_s: float) -> Optional[tuple[str, str]]:
    """GCP, AWS then Azure, in turn within ``timeout_s``: (provider, region) of the first that answers, or None.
    A service that answers "not here" lets the next be asked; no answer at all (nothing listens at that
    address, or it stays silent) ends the search, since the others would be asked at the same address."""
    deadline = time.monotonic() + timeout_s
    for name, probe in (("gcp", cloud_from_gcp), ("aws", cloud_from_aws), ("azure", cloud_from_azure)):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            found = probe(left)
        except _http.HttpError as error:
            logger.debug("Location probe %s: %s", name, error)
            if error.status is None:
                return None
            continue
        except Exception as error:  # every other failure means "this probe knows nothing"
            logger.debug("Location probe %s: %s", name, error)
            continue
        if found:
            return found
    return None


def _location(geo: Optional[dict[str, Any]], cloud: Optional[tuple[str, str]]) -> Location:
    provider, cloud_region = cloud if cloud else (None, None)
    record = tables.cloud_region(*cloud) if cloud else None
    if cloud and record is None:
        log_once(f"intensity.cloud-detected.{provider}.{cloud_region}", logging.INFO,
                 "Running on %s region %s, which has no figure in the bundled cloud table; the grid of the "
                 "location is used.", provider, cloud_region)
    if record is not None and provider and cloud_region:  # the cloud region decides: its place is the row's
        from codecarbon.intensity.location import cloud_location

        near = geo if geo is not None and geo["iso3"] == record["iso3"] else None  # else the IP is elsewhere
        return cloud_location(provider, cloud_region, record, latitude=near["latitude"] if near else None,
                              longitude=near["longitude"] if near else None)
    if geo is not None:
        iso3 = geo["iso3"]
        known = tables.is_iso_country(iso3)
        return Location(
            country_iso_code=iso3 if known else None,
            country_name=country_name_of(iso3) or geo["name"],
            region=geo["region"],
            cloud_provider=provider, cloud_region=cloud_region, on_cloud="Y" if cloud else "N",
            latitude=geo["latitude"], longitude=geo["longitude"],
            country_2letter_iso_code=geo["iso2"] or (tables.alpha2_of(iso3) if known else None),
        )
    # No geolocation and no known cloud region: the place is unknown (an unlisted cloud region is still named).
    return Location(country_iso_code=None, country_name=None, region=None, cloud_provider=provider,
                    cloud_region=cloud_region, on_cloud="Y" if cloud else "N")


def detect_online_location(timeout_s: float = 1.0) -> Location:
    """Geolocate by IP and detect the cloud, in parallel, in at most about `timeout_s`; never raises."""
    try:
        deadline = time.monotonic() + max(float(timeout_s), 0.0)
        # the cloud's metadata service first, with a quarter of the time: on a cloud it answers in milliseconds
        # from the host itself, elsewhere nothing answers and the rest of the time goes to IP geolocation
        cloud = cloud_by_metadata(max(float(timeout_s), 0.0) * CLOUD_SHARE)
        try:
            geo = geo_by_ip(max(0.0, deadline - time.monotonic()))
        except Exception as error:  # every failure means "geolocation knows nothing"
            logger.debug("Location probe geo: %s", error)
            geo = None
        location = _location(geo, cloud)
    except Exception as error:  # the contract: never raises
        logger.debug("Location detection failed: %s", error)
        location = Location(None, None, None, None, None, "N")
    if location.country_iso_code is None:
        log_once("intensity.geolocation-failed", logging.WARNING,
                 "Could not find the country this runs in (no answer from the geolocation services); the world "
                 "average carbon intensity applies. Set country_iso_code to fix this.")
    return location


_located: dict[tuple[str, str, str], Future] = {}
_located_lock = threading.Lock()


def locate_once(timeout_s: float = 1.0) -> Location:
    """``detect_online_location`` once per process: the first caller looks, every later one (another tracker, at
    once or an hour later) gets the same answer without a request. Keyed by the services' addresses, so pointing
    them elsewhere (tests, a proxy set up later) looks again. Never raises."""
    key = (GEOJS_URL, IPINFO_URL, METADATA_BASE)
    with _located_lock:
        future = _located.get(key)
        mine = future is None
        if future is None:
            future = _located[key] = Future()
    if mine:
        location = detect_online_location(timeout_s)
        future.set_result(location)
        return location
    try:
        return future.result(timeout=max(float(timeout_s), 0.0) + 1.0)  # the first caller's lookup is bounded
    except Exception:  # the first caller's lookup failed or overran: the place is unknown, never an error
        return Location(None, None, None, None, None, "N")
