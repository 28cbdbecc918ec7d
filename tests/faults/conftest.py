"""Fixtures the scenarios share with the tests they grew from."""

from tests.absence.test_messages_outage import redis  # noqa: F401 - a Redis that can be killed and restarted
