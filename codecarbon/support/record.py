"""A base for small internal value classes: ``__slots__`` and a hand-written ``__init__`` instead of ``@dataclass``.

Building a dataclass runs ``exec`` over generated source for each of its methods (0.3 to 1 ms a class on a 2-core
machine), paid by every process on the path from ``import`` to ``start()``. A subclass lists its fields in
``__slots__`` (in the order of ``__init__``) and gets field-wise ``==``, ``hash`` and ``repr`` from here, as a
frozen dataclass would; read-only fields are annotated ``Final`` in ``__init__`` so mypy keeps them so.
"""

from __future__ import annotations

from typing import Any


class Record:
    """Field-wise equality, hash and repr over the subclass's ``__slots__``."""

    __slots__: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def _replaced(self, **changes: Any) -> Any:
        """A copy with some fields changed (``dataclasses.replace``), for subclasses whose ``__init__`` takes
        every slot by its name."""
        values = {name: getattr(self, name) for name in self.__slots__}
        values.update(changes)
        return type(self)(**values)
