"""Injected REST faults: the next N matching requests get a 429, a 5xx or any other error, or are slow."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakediscord.journal import Entry

RequestPredicate = Callable[[Entry], bool]


@dataclass
class Fault:
    """An answer the fake gives instead of the real one, `count` times, to matching requests.

    `route` is ``"METHOD /template"`` (as in the journal) or None for any route; `params`
    narrows it to particular values (``channel_id=...``). The fake waits `delay` seconds
    before answering; a fault with `status` None then gives the real answer (a slow request).
    With `after_effect` the request is carried out first and only its answer is replaced
    (Discord did the work, then failed to say so).
    """

    name: str
    status: int | None
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    count: int = 1
    route: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    predicate: RequestPredicate | None = None
    after_effect: bool = False
    hits: int = 0
    delay: float = 0.0

    def matches(self, entry: Entry) -> bool:
        """Say whether this fault applies to a request."""
        if self.count <= 0 or not entry.matches(self.route, **self.params):
            return False
        return self.predicate is None or self.predicate(entry)

    @property
    def exhausted(self) -> bool:
        """Say whether the fault has been used up."""
        return self.count <= 0


class FaultPlan:
    """The faults waiting to be served, in the order they were added."""

    def __init__(self) -> None:
        self.pending: list[Fault] = []
        self.served: list[tuple[Fault, Entry]] = []

    def add(self, fault: Fault) -> Fault:
        """Queue a fault."""
        self.pending.append(fault)
        return fault

    def take(self, entry: Entry) -> Fault | None:
        """Return (and use up one count of) the first fault that applies to a request."""
        for fault in self.pending:
            if fault.matches(entry):
                fault.count -= 1
                fault.hits += 1
                self.served.append((fault, entry))
                if fault.exhausted:
                    self.pending.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        """Drop every pending fault."""
        self.pending.clear()

    def rate_limit(
        self,
        route: str | None = None,
        *,
        count: int = 1,
        retry_after: float = 0.05,
        global_: bool = False,
        via: bool = True,
        predicate: RequestPredicate | None = None,
        **params: Any,
    ) -> Fault:
        """Answer the next `count` matching requests with a 429 like Discord's.

        With `via=False` the `Via` header is left out, which is how a Cloudflare ban
        looks; discord.py does not retry those.
        """
        scope = "global" if global_ else "user"
        headers = {
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "X-RateLimit-Scope": scope,
        }
        if via:
            headers["Via"] = "1.1 google"
        if global_:
            headers["X-RateLimit-Global"] = "true"
        else:
            headers.update(
                {
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                    "X-RateLimit-Bucket": "injected",
                }
            )
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": global_,
            "code": 0,
        }
        return self.add(
            Fault(
                name=f"injected 429 ({scope})",
                status=429,
                body=body,
                headers=headers,
                count=count,
                route=route,
                params=params,
                predicate=predicate,
            )
        )

    def server_error(
        self,
        route: str | None = None,
        *,
        status: int = 502,
        count: int = 1,
        predicate: RequestPredicate | None = None,
        after_effect: bool = False,
        **params: Any,
    ) -> Fault:
        """Answer the next `count` matching requests with a 5xx (discord.py retries 500/502/504/524).

        With `after_effect=True` each request first takes effect (a message is created) and
        only then is answered with the 5xx, as when Discord times out after doing the work.
        """
        body: Any = {"message": f"{status}: Server Error", "code": 0}
        if status in (502, 504):
            body = f"<html><body>{status} Bad Gateway</body></html>"
        return self.add(
            Fault(
                name=f"injected {status}" + (" after the request took effect" if after_effect else ""),
                status=status,
                body=body,
                count=count,
                route=route,
                params=params,
                predicate=predicate,
                after_effect=after_effect,
            )
        )

    def error(
        self,
        route: str | None = None,
        *,
        status: int,
        code: int,
        message: str,
        count: int = 1,
        predicate: RequestPredicate | None = None,
        **params: Any,
    ) -> Fault:
        """Answer the next `count` matching requests with any JSON error (e.g. 403/50013, 404/10003)."""
        return self.add(
            Fault(
                name=f"injected {status}/{code}",
                status=status,
                body={"message": message, "code": code},
                count=count,
                route=route,
                params=params,
                predicate=predicate,
            )
        )

    def delay(
        self,
        route: str | None = None,
        *,
        seconds: float,
        count: int = 1,
        predicate: RequestPredicate | None = None,
        **params: Any,
    ) -> Fault:
        """Hold the next `count` matching requests for `seconds`, then answer them as usual.

        The request takes effect (a message is edited, say) only when it is answered.
        """
        return self.add(
            Fault(
                name=f"delayed {seconds:g} s",
                status=None,
                body=None,
                count=count,
                route=route,
                params=params,
                predicate=predicate,
                delay=seconds,
            )
        )

    def missing_permissions(self, route: str | None = None, *, count: int = 1, **params: Any) -> Fault:
        """Answer like a channel where the bot lacks a permission (403, code 50013)."""
        return self.error(route, status=403, code=50013, message="Missing Permissions", count=count, **params)

    def missing_access(self, route: str | None = None, *, count: int = 1, **params: Any) -> Fault:
        """Answer like a channel the bot cannot see (403, code 50001)."""
        return self.error(route, status=403, code=50001, message="Missing Access", count=count, **params)

    def unknown_channel(self, route: str | None = None, *, count: int = 1, **params: Any) -> Fault:
        """Answer like a deleted channel (404, code 10003)."""
        return self.error(route, status=404, code=10003, message="Unknown Channel", count=count, **params)
