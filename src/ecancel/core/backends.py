"""Choosing an adapter's backend: a setting holds a short name or a dotted path to a class that provides the
adapter's ``Protocol``.

One loader for every adapter (signing keys, the timestamp authority, the rate limiter's store, identity providers,
notification channels), so a wrong value fails the same way everywhere: ``ImproperlyConfigured`` naming the setting,
what it holds and what is wrong, in Chinese and English. ``ecancel check`` runs the same loader over every
configured backend (``operations/backends.py``), so a typo shows before the first request needs the backend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


def protocol_members(protocol: type) -> tuple[list[str], list[str]]:
    """The protocol's public methods and its public data members (annotated attributes), in that order."""
    methods: list[str] = []
    data: list[str] = []
    for base in reversed(protocol.__mro__):
        if base is object or base is Protocol or not getattr(base, "_is_protocol", False):
            continue
        for name, value in vars(base).items():
            if not name.startswith("_") and callable(value) and name not in methods:
                methods.append(name)
        for name in getattr(base, "__annotations__", {}):
            if not name.startswith("_") and name not in data and name not in methods:
                data.append(name)
    return methods, data


def backend_path(value: str, short_names: Mapping[str, str] | None = None) -> str:
    """The dotted path behind a setting's value: a short name looked up, anything else as it is."""
    return (short_names or {}).get(value, value)


def backend_class(
    setting: str,
    protocol: type,
    *,
    short_names: Mapping[str, str] | None = None,
    value: str | None = None,
) -> Callable[..., Any]:
    """The class ``setting`` names (or ``value``, read as that setting), checked to provide ``protocol``'s methods.

    Importing is all it does: no backend is made, nothing is connected to.
    """
    named, path = _named(setting, value, short_names)
    choices = f"; short names: {', '.join(sorted(short_names))}" if short_names else ""
    try:
        found = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"{named}: 无法导入后端 / cannot import the backend {path!r} ({exc}{choices})"
        ) from exc
    if not isinstance(found, type):
        raise ImproperlyConfigured(f"{named}: 不是一个类 / {path!r} is not a class")
    methods, _ = protocol_members(protocol)
    missing = [name for name in methods if not callable(getattr(found, name, None))]
    if missing:
        raise ImproperlyConfigured(
            f"{named}: 不是 {protocol.__name__} 后端 / {path!r} is not a {protocol.__name__} backend "
            f"(missing {', '.join(missing)})"
        )
    return found


def load(
    setting: str,
    protocol: type,
    *args: Any,
    short_names: Mapping[str, str] | None = None,
    value: str | None = None,
    **kwargs: Any,
) -> Any:
    """A backend made from the class ``setting`` names, with ``args`` and ``kwargs``; its data members checked too."""
    backend = backend_class(setting, protocol, short_names=short_names, value=value)(*args, **kwargs)
    _, data = protocol_members(protocol)
    missing = [name for name in data if not hasattr(backend, name)]
    if missing:
        named, path = _named(setting, value, short_names)
        raise ImproperlyConfigured(
            f"{named}: 不是 {protocol.__name__} 后端 / {path!r} is not a {protocol.__name__} backend "
            f"(missing {', '.join(missing)})"
        )
    return backend


def _named(setting: str, value: str | None, short_names: Mapping[str, str] | None) -> tuple[str, str]:
    """How an error names the setting (``NAME='value'``), and the dotted path its value stands for."""
    value = str(getattr(settings, setting)) if value is None else value
    return f"{setting}={value!r}", backend_path(value, short_names)
