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


def test_lazy_entries_are_listed_without_importing_and_loaded_on_first_use():
    registry: Registry = Registry("scorer")
    registry.add_lazy("dump", "json:dumps")
    registry.add_lazy("nowhere", "memgap_no_such_module:thing")  # never imported unless asked for
    assert registry.names() == ["dump", "nowhere"] and "dump" in registry
    assert registry.get("dump")({"a": 1}) == '{"a": 1}'
    with pytest.raises(MemgapError, match="did you mean dump"):
        registry.get("dmp")
    with pytest.raises(ValueError):
        registry.add_lazy("bad", "json.dumps")


def test_the_scorer_registry_knows_domains_without_importing_them():
    import subprocess
    import sys

    code = ("import sys; from memgap.evaluation.scoring import SCORERS, resolve_scorer; "
            "assert 'tenacious' in SCORERS.names(), SCORERS.names(); "
            "assert 'memgap.domains.tenacious' not in sys.modules; "
            "scorer = resolve_scorer('tenacious'); "
            "assert 'memgap.domains.tenacious.scorer' in sys.modules and scorer.__name__ == 'tenacious'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
