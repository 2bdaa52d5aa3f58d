"""Registries answer an unknown name with the closest known ones; user errors exit 2 in one line."""
from __future__ import annotations

import pytest

from memgap.errors import MemgapError, user_errors
from memgap.registry import Registry


def test_registry_suggests_close_names():
    registry: Registry[int] = Registry("scorer")
    registry.add("tenacious", 1)
    registry.add("token-f1", 2)
    assert registry.get("tenacious") == 1
    with pytest.raises(MemgapError, match="did you mean tenacious"):
        registry.get("tenacous")
    with pytest.raises(ValueError):
        registry.add("tenacious", 3)


def test_user_errors_exit_two_without_traceback(capsys):
    with pytest.raises(SystemExit) as caught:
        with user_errors():
            raise MemgapError("bad thing", where="f.jsonl:3")
    assert caught.value.code == 2
    assert capsys.readouterr().err == "memgap: error: f.jsonl:3: bad thing\n"
    with pytest.raises(MemgapError):
        with user_errors(debug=True):
            raise MemgapError("shown with traceback")
