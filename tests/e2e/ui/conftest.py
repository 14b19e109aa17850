"""Fixtures of the page tests: workload namespaces as the host tests make them."""

from tests.integration.host.conftest import make_netns  # noqa: F401 - a fixture, shared as is
