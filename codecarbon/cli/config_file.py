"""Edit keys of the ``[codecarbon]`` section of a config file, keeping the user's comments, order and other sections.

configparser would rewrite the whole file and drop every comment; these files are edited by hand too, so we change
only the lines we must.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from codecarbon.core.config import SECTION, read_config_file

_SECTION_LINE = re.compile(r"^\s*\[([^\]]*)\]")
_KEY_LINE = re.compile(r"^\s*([^=:#;\s][^=:]*?)\s*[=:]")


def read_section(path: Path) -> dict[str, str]:
    """The ``[codecarbon]`` keys of ``path`` (lower-case); {} when the file or the section is missing."""
    return read_config_file(path) or {}


def update_section(path: Path, changes: Mapping[str, str | None]) -> None:
    """Set (or, with None, remove) keys under ``[codecarbon]`` in ``path``, creating file and section if needed.

    Keys are compared case-insensitively; the file is replaced atomically so a crash never leaves half a file.
    """
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        lines = []
    pending = {key.lower(): value for key, value in changes.items()}
    changed = set(pending)
    output: list[str] = []
    in_section = False
    section_seen = False

    def close_section() -> None:
        while output and not output[-1].strip():
            output.pop()
        output.extend(f"{key} = {value}" for key, value in pending.items() if value is not None)
        pending.clear()
        output.append("")

    for line in lines:
        header = _SECTION_LINE.match(line)
        if header:
            if in_section:
                close_section()
            in_section = header.group(1).strip().lower() == SECTION
            section_seen = section_seen or in_section
            output.append(line)
            continue
        key_match = _KEY_LINE.match(line) if in_section else None
        if key_match and key_match.group(1).strip().lower() in changed:
            key = key_match.group(1).strip().lower()
            if key in pending:
                value = pending.pop(key)
                if value is not None:
                    output.append(f"{key} = {value}")
            continue  # a duplicate of a changed key is dropped: one line per key
        output.append(line)
    if in_section:
        close_section()
    if not section_seen and any(value is not None for value in pending.values()):
        if output and output[-1].strip():
            output.append("")
        output.append(f"[{SECTION}]")
        close_section()
    while output and not output[-1].strip():
        output.pop()
    _write_atomically(path, "\n".join(output) + "\n")


def _write_atomically(path: Path, text: str) -> None:
    """Replace the config file whole; a new one is private (it may hold an API key), an existing one keeps its mode."""
    from codecarbon.support.files import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode, exact = os.stat(path).st_mode & 0o777, True
    except FileNotFoundError:
        mode, exact = 0o600, False
    atomic_write(path, text, mode=mode, exact_mode=exact)
