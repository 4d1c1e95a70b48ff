"""GPU detection across vendors, and the device-selection rules both vendors share.

Which GPUs are tracked: ``gpu_ids`` when given (NVML/AMD indices, digit strings, or UUID prefixes with or
without the ``GPU-`` prefix, MIG UUIDs included); otherwise the process's visibility variables
(``CUDA_VISIBLE_DEVICES`` for NVIDIA; ``ROCR_VISIBLE_DEVICES``, then ``HIP_VISIBLE_DEVICES``, then
``CUDA_VISIBLE_DEVICES`` for AMD, which HIP also honours); otherwise every GPU. The facts reported in rows
(``gpu_count``, ``gpu_model``) describe the tracked GPUs only.

Vendor libraries (pynvml, amdsmi) are imported inside the vendor modules' detection functions, never here at
import time; their absence is the normal case on most machines.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from codecarbon.external.logger import log_once, logger
from codecarbon.hardware.base import GPU_BINDINGS, EnergySource, driver_seen, driver_visible

TRACKING_MODES = ("machine", "process")
NVIDIA_VISIBILITY = ("CUDA_VISIBLE_DEVICES",)
AMD_VISIBILITY = ("ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES")
_ID_NOISE = re.compile(r"[^A-Za-z0-9,/-]")


def import_vendor_library(module: str, vendor: str, driver_paths: Sequence[str]) -> Any:
    """The vendor's Python bindings, or None (debug log only) when the driver or the bindings are absent —
    the normal case on most machines."""
    if not driver_visible(*driver_paths):
        logger.debug("no %s driver on this machine: no %s GPU tracking", vendor, vendor)
        return None
    try:
        import importlib

        return importlib.import_module(module)
    except ImportError:
        logger.debug("%s is not installed: no %s GPU tracking", module, vendor)
    except Exception as error:  # bindings that load the vendor's shared library at import may fail there
        logger.debug("%s could not be loaded (%s): no %s GPU tracking", module, error, vendor)
    return None


def load_bindings(vendor: str, driver: Optional[bool]) -> tuple[Any, Optional[str]]:
    """The vendor's bindings and, when its driver is visible but they cannot be imported, the warning to give.

    ``driver``: True when the kernel driver is seen, None where no cheap look exists (not Linux: trying the
    import is the look, and failing it says nothing), False never gets here. The warning is logged once per
    process; detection also returns it so ``codecarbon detect`` can say the same.
    """
    module, vendor_name, install = GPU_BINDINGS[vendor]
    try:
        import importlib

        return importlib.import_module(module), None
    except ImportError:
        if not driver:
            logger.debug("%s is not installed: no %s GPU tracking", module, vendor_name)
            return None, None
    except Exception as error:  # bindings that load the vendor's shared library at import may fail there
        logger.debug("%s could not be loaded (%s): no %s GPU tracking", module, error, vendor_name)
        return None, None
    warning = (f"{vendor_name} GPU driver found but its Python bindings ({module}) cannot be imported: "
               f"GPU energy is not measured. Install them with: {install}")
    log_once(f"gpu-bindings-missing-{vendor}", logging.WARNING, "%s", warning)
    return None, warning


@dataclass
class GpuInventory:
    """What GPU detection found: the sources to read and the facts rows report about the tracked GPUs."""

    sources: list[EnergySource]
    gpu_count: int
    gpu_model: str
    gpu_ids: Optional[list] = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class VendorGpus:
    """One vendor's share of the inventory (internal to detection)."""

    source: Optional[EnergySource]
    names: list[str]
    indices: list[int]
    selection_applied: bool
    unmatched: list[str] = field(default_factory=list)


@dataclass
class Selection:
    """The result of matching requested ids against one vendor's devices."""

    indices: list[int]
    shared: set[int]
    unmatched: list[str]


# --------------------------------------------------------------------------------------- parsing the request

def validate_gpu_ids(gpu_ids: Any) -> Optional[list[str]]:
    """Turn ``gpu_ids`` into a list of id strings, or None for "not set"; ValueError on anything else.

    Accepts a comma-separated string ("0, 1"), or a list/tuple of non-negative ints and strings (a string item
    may itself hold several ids separated by commas). Characters that cannot be part of an index or UUID
    (brackets, quotes, spaces) are dropped, as the reference does.
    """
    if gpu_ids is None:
        return None
    if isinstance(gpu_ids, str):
        items: Sequence[Any] = [gpu_ids]
    elif isinstance(gpu_ids, (list, tuple)):
        items = gpu_ids
    else:
        raise ValueError(f"gpu_ids: expected a list of GPU indices or UUID prefixes, or a comma-separated "
                         f"string such as \"0,1\"; got {type(gpu_ids).__name__} {gpu_ids!r}")
    ids: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise ValueError(f"gpu_ids: each item must be an int index or a string id; got {item!r}")
        if isinstance(item, int):
            if item < 0:
                raise ValueError(f"gpu_ids: GPU indices start at 0; got {item}")
            ids.append(str(item))
            continue
        cleaned = _ID_NOISE.sub("", item)  # "[0, 1]" → "0,1"; keeps the "/" of legacy MIG ids
        ids.extend(part for part in cleaned.split(",") if part)
    return ids


def parse_visible_devices(value: str) -> list[str]:
    """Ids listed in a CUDA/ROCR/HIP visibility variable, following CUDA's rules: an empty value hides every
    GPU, and a negative index hides that entry and every entry after it."""
    ids: list[str] = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        if part.lstrip("-").isdigit() and part.startswith("-"):
            break
        ids.append(part)
    return ids


def requested_ids(gpu_ids: Any, environ: Mapping[str, str],
                  variables: Sequence[str]) -> tuple[Optional[list[str]], str]:
    """The ids to select (None = every GPU) and where they came from: "gpu_ids" or a variable's name."""
    explicit = validate_gpu_ids(gpu_ids)
    if explicit is not None:
        return explicit, "gpu_ids"
    for name in variables:
        value = environ.get(name)
        if value is not None:
            return parse_visible_devices(value), name
    return None, ""


# ---------------------------------------------------------------------------------------------- matching ids

def _uuid_key(text: str) -> str:
    """Compare UUIDs case-insensitively and with or without NVML's "GPU-" prefix."""
    text = text.strip().lower()
    return text[4:] if text.startswith("gpu-") else text


def match_ids(requested: Sequence[str], uuids: Sequence[str],
              mig_parent: Optional[Callable[[str], Optional[int]]] = None) -> Selection:
    """Map requested ids to device indices.

    A digit string is an index; ``MIG-GPU-<uuid>/<gi>/<ci>`` (legacy MIG form) names its parent GPU;
    another ``MIG-`` id is looked up through ``mig_parent`` (NVIDIA only); anything else is a UUID prefix.
    Devices reached through a MIG slice are reported as shared: the GPU's energy covers every slice on it.
    """
    chosen: set[int] = set()
    shared: set[int] = set()
    unmatched: list[str] = []
    keys = [_uuid_key(u) for u in uuids]
    for raw in requested:
        ident = raw.strip()
        if ident.isdigit():
            index = int(ident)
            if index < len(uuids):
                chosen.add(index)
            else:
                unmatched.append(raw)
            continue
        lowered = ident.lower()
        if lowered.startswith("mig-"):
            rest = ident[4:]
            found: list[int] = []
            if rest.lower().startswith("gpu-"):
                parent_key = _uuid_key(rest.split("/")[0])
                found = [i for i, k in enumerate(keys) if parent_key and k.startswith(parent_key)]
            elif mig_parent is not None:
                parent = mig_parent(ident)
                found = [parent] if parent is not None else []
            if found:
                chosen.update(found)
                shared.update(found)
            else:
                unmatched.append(raw)
            continue
        key = _uuid_key(ident)
        found = [i for i, k in enumerate(keys) if key and k.startswith(key)]
        if found:
            chosen.update(found)
        else:
            unmatched.append(raw)
    return Selection(sorted(chosen), shared, unmatched)


def describe_models(names: Sequence[str]) -> str:
    """"2 x NVIDIA A100-SXM4-40GB, 1 x NVIDIA T4": one entry per distinct name, in order of appearance."""
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{count} x {name}" for name, count in counts.items())


def as_text(value: Any) -> str:
    """NVML and amdsmi return str in current releases and bytes in older ones."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


# ------------------------------------------------------------------------------------------------- detection

def detect_gpus(gpu_ids: Any, *, environ: Optional[Mapping[str, str]] = None, nvml: Any = None,
                amdsmi: Any = None, tracking_mode: str = "machine", pid: Optional[int] = None,
                drivers: Optional[Mapping[str, Optional[bool]]] = None) -> GpuInventory:
    """Find NVIDIA and AMD GPUs and build one energy source per vendor for the tracked ones.

    ``nvml``/``amdsmi`` are module seams: None imports ``pynvml``/``amdsmi`` lazily; a missing library or one
    that fails to initialise means "no GPU of that vendor" (debug log only) -- except that a driver in sight
    without its bindings gives one warning saying what to install. ``drivers`` maps "nvidia"/"amd" to what
    ``base.driver_seen`` says (None: look on this machine). ``gpu_ids`` is validated here: a bad value raises
    ValueError naming the parameter.
    """
    if tracking_mode not in TRACKING_MODES:
        raise ValueError(f"tracking_mode: expected one of {', '.join(TRACKING_MODES)}; got {tracking_mode!r}")
    validate_gpu_ids(gpu_ids)
    env: Mapping[str, str] = os.environ if environ is None else environ

    seen = dict(drivers) if drivers is not None else {vendor: driver_seen(vendor) for vendor in GPU_BINDINGS}
    warnings: list[str] = []
    if nvml is None and seen.get("nvidia") is not False:  # no driver: not even our module is loaded
        nvml, warning = load_bindings("nvidia", seen.get("nvidia"))
        warnings += [warning] if warning else []
    if amdsmi is None and seen.get("amd") is not False:
        amdsmi, warning = load_bindings("amd", seen.get("amd"))
        warnings += [warning] if warning else []
    found = []
    if nvml is not None:
        from codecarbon.hardware.nvidia import detect_nvidia

        found.append(detect_nvidia(gpu_ids, environ=env, nvml=nvml, tracking_mode=tracking_mode, pid=pid))
    if amdsmi is not None:
        from codecarbon.hardware.amd import detect_amd

        found.append(detect_amd(gpu_ids, environ=env, amdsmi=amdsmi, tracking_mode=tracking_mode, pid=pid))
    present = [v for v in found if v is not None]
    sources = [v.source for v in present if v.source is not None]
    names = [name for v in present for name in v.names]
    if present:
        unmatched = set(present[0].unmatched)
        for vendor in present[1:]:
            unmatched &= set(vendor.unmatched)
        for ident in sorted(unmatched):
            logger.warning("GPU id %r matches no GPU on this machine; it is ignored", ident)
    selection_applied = any(v.selection_applied for v in present)
    tracked_ids = [i for v in present for i in v.indices] if selection_applied else None
    return GpuInventory(sources=sources, gpu_count=len(names), gpu_model=describe_models(names),
                        gpu_ids=tracked_ids, warnings=warnings)
