"""Session-wide test settings."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _model_cache_in_a_temporary_folder(tmp_path_factory):
    """The converted embedded model (memgap.model_cache) goes to a folder of this session, not the user's cache."""
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("MEMGAP_CACHE_DIR", str(tmp_path_factory.mktemp("memgap-cache")))
    yield
    monkeypatch.undo()
