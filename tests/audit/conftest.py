"""Fixtures for the audit log tests."""
from tests.auth.fixtures import english  # noqa: F401
