"""Fixtures shared by every test layer live in tests/fixtures/, one module per dependency."""

pytest_plugins = [
    "tests.fixtures.clamd",
    "tests.fixtures.rabbit",
    "tests.fixtures.seaweed",
    "tests.fixtures.stores",
    "tests.fixtures.metrics",
    "tests.fixtures.telemetry",
    "tests.fixtures.tsa",
]
