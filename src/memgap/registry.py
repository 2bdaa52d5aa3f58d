"""Name-to-object registries that answer an unknown name with the closest known ones.

A registry holds objects added at import time and lazy entries: 'module:attribute' paths imported
on first use, so that a registry can list domains and plug-ins without importing them (as
lm-evaluation-harness lists tasks, and as Python packaging's entry points name plug-ins).
"""
from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from memgap.errors import MemgapError

T = TypeVar("T")


class Registry(Generic[T]):
    """A dictionary of named components (scorers, domains, architectures) with a helpful miss."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}
        self._lazy: dict[str, str] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            self.add(name, obj)
            return obj

        return decorator

    def add(self, name: str, obj: T) -> None:
        """Register `obj` under `name`; a lazy entry of that name is replaced (its module registering itself)."""
        if name in self._items:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._items[name] = obj
        self._lazy.pop(name, None)

    def add_lazy(self, name: str, target: str) -> None:
        """Register `name` as 'module:attribute', imported only when `get(name)` asks for it."""
        module, _, attribute = target.partition(":")
        if not module or not attribute:
            raise ValueError(f"{self.kind} '{name}': lazy target '{target}' is not 'module:attribute'")
        if name not in self._items:
            self._lazy.setdefault(name, target)

    def get(self, name: str) -> T:
        """The object registered as `name`, importing its module first if it is lazy.

        Raises MemgapError naming the closest known names when `name` is unknown.
        """
        if name in self._items:
            return self._items[name]
        if name in self._lazy:
            module_name, _, attribute = self._lazy[name].partition(":")
            module = importlib.import_module(module_name)  # may register `name` itself
            if name not in self._items:
                self.add(name, getattr(module, attribute))
            return self._items[name]
        close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        known = ", ".join(self.names()) or "none"
        raise MemgapError(f"unknown {self.kind} '{name}'{hint} (known: {known})")

    def names(self) -> list[str]:
        return sorted({*self._items, *self._lazy})

    def __contains__(self, name: object) -> bool:
        return name in self._items or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
