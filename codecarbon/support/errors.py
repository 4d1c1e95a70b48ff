"""One exception hierarchy, caught at its boundaries: the public tracker methods, the sampling loop and the CLI.

Everything the package raises on purpose is a ``CodeCarbonError``; where 3.x or the standard library has a
matching kind (``ValueError`` for bad values, ``OSError`` for files, ``ImportError`` for a missing extra) the
class is that too, so code catching those keeps working::

    CodeCarbonError
    ├── ConfigError (ValueError) ── OutputPathError (OSError)
    ├── MissingDependencyError (ImportError)
    ├── DeliveryError
    ├── StateDirError (OSError)
    ├── LockingUnavailable (OSError)
    ├── GpuLibraryError
    ├── ApiUnavailable ── ApiRefused (cli/api.py)
    └── CliError ── MonitorError

(and, defined beside the code that raises them: TrackerBusy, HttpError, LockTimeout, SymlinkRefused, AuthError.)
"""

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


class StateDirError(CodeCarbonError, OSError):
    """The state directory cannot be used safely (not ours, not a directory, not writable)."""


class LockingUnavailable(CodeCarbonError, OSError):
    """The file system of the state directory cannot lock (some network mounts): nobody can be elected."""


class GpuLibraryError(CodeCarbonError):
    """A GPU vendor library (NVML, amdsmi) refused a call. Translated once, in the vendor's module, so the rest of
    it handles one kind of failure: ``vendor``, the ``call`` that failed and the library's own ``code``."""

    def __init__(self, vendor: str, call: str, error: BaseException, code: object = None) -> None:
        super().__init__(f"{vendor} {call} failed: {error}")
        self.vendor = vendor
        self.call = call
        self.code = code


class ApiUnavailable(CodeCarbonError):
    """The CodeCarbon API could not be reached or did not answer as expected."""


class CliError(CodeCarbonError):
    """Ends a ``codecarbon`` command with a one-line message on stderr and exit status 1."""


class MonitorError(CliError):
    """A problem with ``codecarbon monitor``'s command line or configuration, reported without a traceback."""
