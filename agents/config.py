"""Config dataclasses: one validated, serializable object per trainer instead of keyword lists.

Every trainer in :mod:`agents` takes a frozen dataclass that derives from :class:`Config` (in
d3rlpy's manner): fields with defaults written down, checked in ``__post_init__``, saved inside
every checkpoint and read back with :meth:`Config.from_dict`. An unknown or invalid field is one
``ValueError`` that names it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

__all__ = ["Config", "config_from"]

C = TypeVar("C", bound="Config")


class Config:
    """Mixin of frozen dataclasses: ``to_dict`` / ``from_dict`` / ``replace`` with field checks."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (tuples become lists, nested configs dicts)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if isinstance(v, Config):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]

    @classmethod
    def check_fields(cls, names: Any) -> None:
        """``ValueError`` naming every name in ``names`` that is not a field of ``cls``."""
        known = cls.field_names()
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise ValueError(
                f"unknown {cls.__name__} field(s) {', '.join(unknown)}; known: {', '.join(known)}"
            )

    @classmethod
    def from_dict(cls: type[C], d: Mapping[str, Any]) -> C:
        """Inverse of :meth:`to_dict` (lists become tuples where the default is a tuple)."""
        if not isinstance(d, Mapping):
            raise ValueError(f"{cls.__name__}.from_dict needs a mapping, got {type(d).__name__}")
        cls.check_fields(d)
        kw = dict(d)
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name not in kw:
                continue
            v = kw[f.name]
            nested = _nested_type(f)
            if nested is not None and isinstance(v, Mapping):
                kw[f.name] = nested.from_dict(v)
            elif isinstance(v, list):
                kw[f.name] = tuple(v)
        return cls(**kw)

    def replace(self: C, **changes: Any) -> C:
        """A copy with ``changes`` (validated again; unknown fields are an error)."""
        self.check_fields(changes)
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def _nested_type(f: dataclasses.Field[Any]) -> type[Config] | None:
    """The config type of a field whose default is a config (``field(default_factory=X)``)."""
    factory = f.default_factory
    if (
        factory is not dataclasses.MISSING
        and isinstance(factory, type)
        and issubclass(factory, Config)
    ):
        return factory
    return None


def config_from(cls: type[C], value: C | Mapping[str, Any] | None, **changes: Any) -> C:
    """``value`` (a ``cls``, a dict of its fields or ``None`` for the defaults) with ``changes``
    over it; ``None`` values in ``changes`` are ignored (an option that was not given)."""
    if value is None:
        base = cls()
    elif isinstance(value, cls):
        base = value
    elif isinstance(value, Mapping):
        base = cls.from_dict(value)
    else:
        raise TypeError(
            f"expected a {cls.__name__} or a dict of its fields, got {type(value).__name__}"
        )
    changes = {k: v for k, v in changes.items() if v is not None}
    return base.replace(**changes) if changes else base
