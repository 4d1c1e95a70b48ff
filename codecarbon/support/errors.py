"""One exception hierarchy, caught at two boundaries: the public tracker methods and the sampling loop."""

from __future__ import annotations


class CodeCarbonError(Exception):
    """Anything this package raises on purpose."""


class ConfigError(CodeCarbonError, ValueError):
    """A parameter's value is unusable; the message names the parameter, where it came from and what was expected."""


class MissingDependencyError(CodeCarbonError, ImportError):
    """An output or feature needs an optional library that is not installed; the message names the extra."""


class DeliveryError(CodeCarbonError):
    """A network output could not deliver a payload (it is kept for later, never raised into user code)."""


class OutputPathError(ConfigError, OSError):
    """``output_dir`` or ``output_file`` cannot hold the rows; an ``OSError`` too, as CodeCarbon 3.x raises."""
