"""Track the energy your computation draws and the carbon it emits.

Names are resolved on first use so that ``import codecarbon`` costs close to nothing.
"""

from __future__ import annotations

from codecarbon._version import __app_name__, __version__  # noqa: F401 - __app_name__ is public in 3.x

__all__ = ["EmissionsTracker", "OfflineEmissionsTracker", "OutputMethod", "track_emissions", "__version__"]


def __getattr__(name: str) -> object:
    if name in ("EmissionsTracker", "OfflineEmissionsTracker", "track_emissions"):
        from codecarbon import emissions_tracker

        return getattr(emissions_tracker, name)
    if name == "OutputMethod":
        from codecarbon.output_methods.base_output import OutputMethod

        return OutputMethod
    raise AttributeError(f"module 'codecarbon' has no attribute {name!r}")


def load_ipython_extension(ipython: object) -> None:
    """`%load_ext codecarbon`: registers the %%codecarbon cell magic (loaded only now, never at import)."""
    from codecarbon.viz.notebook import load

    load(ipython)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
