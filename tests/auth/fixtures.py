"""Fixtures shared by the auth and audit tests."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def english(app, monkeypatch):
    """Pages in English, so messages can be read as written: the locale selector falls back to this setting,
    and a Swedish catalogue must not change what the tests read."""
    monkeypatch.setitem(app.config, "BABEL_DEFAULT_LOCALE", "en")

