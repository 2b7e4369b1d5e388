"""Optional rate-limit emulation: per-route buckets with Discord's headers, and the global limit.

Off by default. When on, every answer on a bucketed route carries the real
``X-RateLimit-*`` headers, and a request sent while its bucket (or the global
limit) is exhausted is answered 429 and counted as a violation, so a benchmark
can assert that the bot paced itself and never hit one.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.fakediscord.journal import Entry


@dataclass(frozen=True)
class BucketSpec:
    """`limit` requests per `per` seconds, per value of the route's major parameter."""

    name: str
    limit: int
    per: float
    major: str


# Route templates (as the journal names them) and their buckets. Routes not listed
# here only count toward the global limit.
DEFAULT_BUCKETS: dict[str, BucketSpec] = {
    "POST /channels/{channel_id}/messages": BucketSpec("message-create", 5, 5.0, "channel_id"),
    "PATCH /channels/{channel_id}/messages/{message_id}": BucketSpec("message-edit", 5, 5.0, "channel_id"),
    "DELETE /channels/{channel_id}/messages/{message_id}": BucketSpec("message-delete", 5, 5.0, "channel_id"),
    "POST /channels/{channel_id}/messages/{message_id}/threads": BucketSpec(
        "thread-create", 5, 5.0, "channel_id"
    ),
    "POST /channels/{channel_id}/threads": BucketSpec("thread-create", 5, 5.0, "channel_id"),
    "PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me": BucketSpec(
        "reaction", 1, 0.25, "channel_id"
    ),
    "POST /webhooks/{webhook_id}/{webhook_token}": BucketSpec("webhook", 5, 5.0, "webhook_token"),
    "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}": BucketSpec(
        "webhook-edit", 5, 5.0, "webhook_token"
    ),
    "DELETE /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}": BucketSpec(
        "webhook-delete", 5, 5.0, "webhook_token"
    ),
}

# Discord does not count interaction responses and interaction follow-ups toward the global limit.
GLOBAL_EXEMPT_PREFIXES = (
    "POST /interactions/",
    "POST /webhooks/",
    "GET /webhooks/",
    "PATCH /webhooks/",
    "DELETE /webhooks/",
)


@dataclass
class _Window:
    remaining: int
    resets_at: float


@dataclass
class Violation:
    """A request the bot sent although its bucket (or the global limit) was exhausted."""

    seq: int
    route: str
    scope: str
    bucket: str


@dataclass
class Decision:
    """What the emulator says about one request: allowed or not, and the headers to send."""

    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    scope: str | None = None


class RateLimiter:
    """Buckets and the global limit; `violations` lists every request sent into an exhausted one."""

    def __init__(self) -> None:
        self.enabled = False
        self.global_limit = 50
        self.global_per = 1.0
        self.buckets: dict[str, BucketSpec] = dict(DEFAULT_BUCKETS)
        self.violations: list[Violation] = []
        self._windows: dict[tuple[str, str], _Window] = {}
        self._global: _Window | None = None
        self.requests_counted = 0

    def enable(
        self,
        *,
        global_limit: int = 50,
        global_per: float = 1.0,
        buckets: dict[str, BucketSpec] | None = None,
    ) -> None:
        """Turn emulation on (optionally with other limits); windows start afresh."""
        self.enabled = True
        self._global = None
        self._windows.clear()
        self.global_limit = global_limit
        self.global_per = global_per
        if buckets is not None:
            self.buckets.update(buckets)

    def disable(self) -> None:
        """Turn emulation off; counted violations are kept."""
        self.enabled = False

    def set_bucket(
        self, route: str, limit: int, per: float, major: str | None = None, name: str | None = None
    ) -> None:
        """Set (or add) the bucket of a route template."""
        old = self.buckets.get(route)
        major = major or (old.major if old else _guess_major(route))
        self.buckets[route] = BucketSpec(name or (old.name if old else route), limit, per, major)
        self._windows.clear()

    @property
    def violation_count(self) -> int:
        """Return how many requests were sent into an exhausted bucket or past the global limit."""
        return len(self.violations)

    def violations_by_scope(self) -> Counter[str]:
        """Count violations by scope (``"global"`` or ``"bucket"``)."""
        return Counter(v.scope for v in self.violations)

    def check(self, entry: Entry) -> Decision:
        """Decide whether a request passes, consuming from its windows when it does."""
        if not self.enabled or entry.route is None:
            return Decision(True)
        now = time.monotonic()
        self.requests_counted += 1
        if not entry.route.startswith(GLOBAL_EXEMPT_PREFIXES):
            window = self._global
            if window is None or now >= window.resets_at:
                window = self._global = _Window(self.global_limit, now + self.global_per)
            if window.remaining <= 0:
                retry_after = max(window.resets_at - now, 0.001)
                self.violations.append(Violation(entry.seq, entry.route, "global", "global"))
                return Decision(
                    False,
                    {
                        "Via": "1.1 google",
                        "Retry-After": str(max(1, math.ceil(retry_after))),
                        "X-RateLimit-Global": "true",
                        "X-RateLimit-Scope": "global",
                    },
                    {
                        "message": "You are being rate limited.",
                        "retry_after": round(retry_after, 3),
                        "global": True,
                        "code": 0,
                    },
                    "global",
                )
            window.remaining -= 1
        spec = self.buckets.get(entry.route)
        if spec is None:
            return Decision(True)
        key = (spec.name, str(entry.params.get(spec.major, "")))
        window = self._windows.get(key)
        if window is None or now >= window.resets_at:
            window = self._windows[key] = _Window(spec.limit, now + spec.per)
        # Rounded up to the millisecond: a client that waits exactly this long must find the
        # window reset, or the fake would count a violation the client could not avoid.
        reset_after = math.ceil(max(window.resets_at - now, 0.0) * 1000) / 1000
        headers = {
            "X-RateLimit-Limit": str(spec.limit),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": _bucket_hash(spec.name),
        }
        if window.remaining <= 0:
            self.violations.append(Violation(entry.seq, entry.route, "bucket", spec.name))
            headers.update(
                {
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Scope": "user",
                    "Retry-After": str(max(1, math.ceil(reset_after))),
                    "Via": "1.1 google",
                }
            )
            body = {
                "message": "You are being rate limited.",
                "retry_after": round(max(reset_after, 0.001), 3),
                "global": False,
                "code": 0,
            }
            return Decision(False, headers, body, "bucket")
        window.remaining -= 1
        headers["X-RateLimit-Remaining"] = str(window.remaining)
        return Decision(True, headers)


def _bucket_hash(name: str) -> str:
    return "fake-" + name


def _guess_major(route: str) -> str:
    for major in ("channel_id", "guild_id", "webhook_token"):
        if "{" + major + "}" in route:
            return major
    return ""
