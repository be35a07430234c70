"""A per-client request budget for the public, anonymous routes.

Each web process keeps its own counts (a sliding minute per client address),
so with N processes a client may get up to N times the budget: a guard
against a runaway gadget or scraper, not an accounting system.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class RateLimiter:
    """At most ``per_minute`` requests per client in any 60 seconds."""

    def __init__(self, per_minute: int, clock: object = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        """0 when ``client`` may go on (the request is counted), else seconds to wait."""
        if self.per_minute <= 0:
            return 0
        now: float = self._clock()  # type: ignore[operator]
        with self._lock:
            times = self._seen.setdefault(client, deque())
            while times and times[0] <= now - 60:
                times.popleft()
            if len(times) >= self.per_minute:
                return max(1, math.ceil(times[0] + 60 - now))
            times.append(now)
            if len(self._seen) > 10_000:
                # Forget clients that went quiet, so the table stays small.
                for key in [k for k, v in self._seen.items() if not v or v[-1] <= now - 60]:
                    del self._seen[key]
            return 0
