"""Fixtures for the authentication tests."""
from tests.auth.fixtures import english  # noqa: F401
