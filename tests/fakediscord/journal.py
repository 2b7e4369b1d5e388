"""The journal: every REST request the fake served, in order, which tests can read and await."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class Entry:
    """One request and the fake's answer.

    `route` is the template, e.g. ``"POST /channels/{channel_id}/messages"``, and `params`
    holds its values (``{"channel_id": "123"}``). `json` is the body (for multipart requests,
    the parsed ``payload_json``). `fault` names an injected fault or emulated rate limit
    that produced the answer (or an injected delay that held it), if any.
    """

    seq: int
    at: float
    method: str
    path: str
    route: str | None
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    files: list[UploadedFile] = field(default_factory=list)
    status: int = 0
    response: Any = None
    response_headers: dict[str, str] = field(default_factory=dict)
    fault: str | None = None

    @property
    def ok(self) -> bool:
        """Say whether the fake answered with a 2xx status."""
        return 200 <= self.status < 300

    def matches(self, route: str | None = None, **params: Any) -> bool:
        """Say whether this entry is for `route` (a template) with these parameter values."""
        if route is not None and self.route != route:
            return False
        return all(str(self.params.get(k)) == str(v) for k, v in params.items())

    def __repr__(self) -> str:
        fault = f" {self.fault}" if self.fault else ""
        return f"<Entry #{self.seq} {self.method} {self.path} -> {self.status}{fault}>"


Predicate = Callable[[Entry], bool]


class Journal:
    """Every request in order. Appending is O(number of pending waiters), never a scan."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self._waiters: list[tuple[Predicate, asyncio.Future[Entry]]] = []
        self._started = time.monotonic()

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self.entries))

    @property
    def mark(self) -> int:
        """Return a position to pass as `after=` so later queries only see newer requests."""
        return len(self.entries)

    def next_seq(self) -> int:
        """Return the sequence number the next entry will get."""
        return len(self.entries)

    def append(self, entry: Entry) -> None:
        """Record an answered request and wake the waiters it satisfies."""
        self.entries.append(entry)
        if not self._waiters:
            return
        still: list[tuple[Predicate, asyncio.Future[Entry]]] = []
        for predicate, future in self._waiters:
            if future.done():
                continue
            try:
                hit = predicate(entry)
            except Exception as exc:  # a broken predicate fails its own waiter, loudly
                future.set_exception(exc)
                continue
            if hit:
                future.set_result(entry)
            else:
                still.append((predicate, future))
        self._waiters = still

    def select(
        self,
        route: str | None = None,
        predicate: Predicate | None = None,
        *,
        after: int = 0,
        ok: bool | None = None,
        **params: Any,
    ) -> list[Entry]:
        """Return the entries for a route template (and parameter values) and/or a predicate."""
        found = []
        for entry in self.entries[after:]:
            if not entry.matches(route, **params):
                continue
            if ok is not None and entry.ok != ok:
                continue
            if predicate is not None and not predicate(entry):
                continue
            found.append(entry)
        return found

    def count(self, route: str | None = None, predicate: Predicate | None = None, **params: Any) -> int:
        """Count matching entries."""
        return len(self.select(route, predicate, **params))

    async def wait_for(
        self,
        predicate: Predicate | str,
        timeout: float = 5.0,
        *,
        after: int | None = 0,
        **params: Any,
    ) -> Entry:
        """Return the first entry matching `predicate` (a callable, or a route template plus params).

        Entries already in the journal count unless `after` is given a mark (or None, meaning only
        requests from now on). Fails with a readable TimeoutError listing the last requests.
        """
        if isinstance(predicate, str):
            route = predicate

            def check(entry: Entry) -> bool:
                return entry.matches(route, **params)

        else:
            check = predicate
        start = len(self.entries) if after is None else after
        for entry in self.entries[start:]:
            if check(entry):
                return entry
        future: asyncio.Future[Entry] = asyncio.get_running_loop().create_future()
        self._waiters.append((check, future))
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            recent = "\n  ".join(repr(e) for e in self.entries[-10:]) or "(none)"
            raise TimeoutError(
                f"no matching request within {timeout}s; the last requests were:\n  {recent}"
            ) from None

    def routes(self, *, after: int = 0) -> list[str]:
        """Return the route of each entry (or its path when unknown), handy in assertion messages."""
        return [e.route or f"{e.method} {e.path}" for e in self.entries[after:]]

    def summary(self) -> str:
        """Return a short listing of every request, for assertion messages."""
        return "\n".join(repr(e) for e in self.entries)
