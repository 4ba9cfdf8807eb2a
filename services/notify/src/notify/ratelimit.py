"""A token bucket per destination domain (per process: replicas multiply the rate)."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.clock import Clock


class DomainRateLimiter:
    """`try_take` a token for a domain before sending there; `give_back` one not used."""

    def __init__(self, clock: Clock, rate_per_second: float, burst: int) -> None:
        self._clock = clock
        self._rate = rate_per_second
        self._burst = float(burst)
        self._buckets: dict[str, tuple[float, datetime]] = {}

    def _level(self, domain: str) -> float:
        now = self._clock.now()
        tokens, at = self._buckets.get(domain, (self._burst, now))
        return min(self._burst, tokens + (now - at).total_seconds() * self._rate)

    def try_take(self, domain: str) -> bool:
        tokens = self._level(domain)
        if tokens < 1.0:
            self._buckets[domain] = (tokens, self._clock.now())
            return False
        self._buckets[domain] = (tokens - 1.0, self._clock.now())
        return True

    def give_back(self, domain: str) -> None:
        tokens = self._level(domain)
        self._buckets[domain] = (min(self._burst, tokens + 1.0), self._clock.now())

    def wait_hint(self) -> timedelta:
        """How long until a token is available again somewhere (an upper bound)."""
        return timedelta(seconds=1.0 / self._rate)
