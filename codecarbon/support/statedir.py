"""The per-user state directory: checkpoints, locks, spools and fallback rows live here, never in the user's folders.

``$CODECARBON_STATE_DIR`` when set, else ``$XDG_STATE_HOME/codecarbon`` or ``~/.local/state/codecarbon`` on POSIX and
``%LOCALAPPDATA%\\codecarbon`` on Windows. Created 0700 and refused when it belongs to someone else, so another user
cannot plant files that we would read or follow.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Optional

from codecarbon.support.errors import StateDirError  # defined in the error tree, importable here

ENV_VARIABLE = "CODECARBON_STATE_DIR"


def state_root(environ: Optional[dict[str, str]] = None, platform: str = sys.platform) -> Path:
    """Where the state directory is, without creating it."""
    env = os.environ if environ is None else environ
    configured = env.get(ENV_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    if platform.startswith("win"):
        base = env.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "codecarbon"
    xdg = env.get("XDG_STATE_HOME")
    base_path = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "state"
    return base_path / "codecarbon"


def ensure_private_dir(path: Path, what: str = "state directory") -> Path:
    """Create ``path`` 0700 if needed; refuse a link, a non-directory or one another user owns (our state and
    the login's credentials both live in such folders)."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(path)
    except OSError as error:
        raise StateDirError(f"{what} {path} cannot be created: {error}") from error
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise StateDirError(f"{what} {path} is not a plain directory")
    if hasattr(os, "getuid"):
        if info.st_uid != os.getuid():
            raise StateDirError(f"{what} {path} belongs to another user")
        if info.st_mode & 0o077:
            os.chmod(path, 0o700)
    return path


def state_dir(*parts: str) -> Path:
    """The state directory (or a sub-folder of it), created 0700 on first use."""
    root = ensure_private_dir(state_root())
    path = root
    for part in parts:
        path = ensure_private_dir(path / part)
    return path


def key_for_path(path: str | os.PathLike[str]) -> str:
    """A short stable key naming a user's file (its real path), to group our state per output file."""
    real = os.path.realpath(os.fspath(path))
    return sha256_hex(real.encode("utf-8", "surrogatepass"))[:24]


def sha256_hex(data: bytes) -> str:
    """SHA-256 without loading OpenSSL: ``hashlib`` maps libcrypto, over 3 MiB of resident memory for one hash.

    CPython's own small SHA-2 module gives the same digest; hashlib is the fallback where it is missing."""
    try:
        from _sha2 import sha256  # type: ignore[import-not-found]  # CPython 3.12+
    except ImportError:
        try:
            from _sha256 import sha256  # type: ignore[import-not-found,no-redef]  # CPython 3.11 and earlier
        except ImportError:
            from hashlib import sha256  # type: ignore[assignment]
    return sha256(data).hexdigest()


# --- our paths (every file of ours outside the user's folders is named here) ------------------------------------------
def runs_dir(csv_path: str | os.PathLike[str]) -> Path:
    """Where the checkpoints of runs writing ``csv_path`` live."""
    return state_dir("runs", key_for_path(csv_path))


def lock_path(name: str) -> Path:
    """A lock file in the state directory (``name`` is ours: a fixed word or a key)."""
    return state_dir("locks") / f"{name}.lock"


def spool_dir() -> Path:
    """Where network outputs keep payloads they could not deliver (the outputs own the format)."""
    return state_dir("undelivered")


def fallback_dir() -> Path:
    """Where rows go that could not be written to their CSV."""
    return state_dir("unwritten")


def jobs_dir() -> Path:
    """Where the processes of a job on this host choose who measures which device (see hardware/ownership)."""
    return state_dir("jobs")
