"""The ``codecarbon`` logger: the only logger this package writes to. The root logger is never touched."""

from __future__ import annotations

import logging
import sys
import threading

logger = logging.getLogger("codecarbon")

_FORMAT = "[codecarbon %(levelname)s @ %(asctime)s] {preamble}%(message)s"
_DATE_FORMAT = "%H:%M:%S"
_handler: logging.Handler | None = None
_once_lock = threading.Lock()
_said_once: set[str] = set()


def _ensure_handler() -> logging.Handler:
    """Give our logger one stderr handler so messages show without the user configuring logging."""
    global _handler
    if _handler is None:
        _handler = logging.StreamHandler(sys.stderr)
        _handler.setFormatter(logging.Formatter(_FORMAT.format(preamble=""), _DATE_FORMAT))
        logger.addHandler(_handler)
        logger.propagate = False
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
    return _handler


def parse_log_level(value: int | str) -> int:
    """A level name (any case) or an int; raise ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"invalid log level {value!r}")
    if isinstance(value, int):
        if value in (0, 10, 20, 30, 40, 50):
            return value
        raise ValueError(f"invalid log level {value!r}; expected 0, 10, 20, 30, 40 or 50")
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return parse_log_level(int(text))
    level = logging.getLevelName(text.upper())
    if isinstance(level, int) and text.upper() in ("CRITICAL", "FATAL", "ERROR", "WARN", "WARNING", "INFO",
                                                   "DEBUG", "NOTSET"):
        return level
    raise ValueError(f"invalid log level {value!r}; expected debug, info, warning, error or critical")


def set_logger_level(level: int | str = "info") -> None:
    _ensure_handler()
    logger.setLevel(parse_log_level(level))


def set_logger_format(logger_preamble: str = "") -> None:
    handler = _ensure_handler()
    preamble = f"{logger_preamble} " if logger_preamble else ""
    handler.setFormatter(logging.Formatter(_FORMAT.format(preamble=preamble.replace("%", "%%")), _DATE_FORMAT))


def log_once(key: str, level: int, message: str, *args: object) -> None:
    """Log a message the first time ``key`` is seen in this process (failing sources, unknown config keys)."""
    with _once_lock:
        if key in _said_once:
            return
        _said_once.add(key)
    logger.log(level, message, *args)
