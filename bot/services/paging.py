"""Paging through a member's own items (journal entries, anonymous posts), newest first."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a member's items, newest first, with where it stands among them."""

    items: tuple[T, ...]
    page: int  # from 0
    pages: int
    total: int
    size: int

    @property
    def has_previous(self) -> bool:
        """Say whether a newer page exists."""
        return self.page > 0

    @property
    def has_next(self) -> bool:
        """Say whether an older page exists."""
        return self.page + 1 < self.pages

    @property
    def first_number(self) -> int:
        """Return the member's own number (from 1, newest first) for this page's first item."""
        return self.page * self.size + 1


async def load_page(
    page: int,
    size: int,
    count: Callable[[], Awaitable[int]],
    fetch: Callable[[int, int], Awaitable[Sequence[T]]],
) -> Page[T]:
    """Load one page with `fetch(offset, limit)`; a page past the end (items were deleted since)
    shows the last page instead."""
    total = await count()
    pages = max(1, math.ceil(total / size))
    page = min(max(page, 0), pages - 1)
    items = await fetch(page * size, size)
    return Page(tuple(items), page, pages, total, size)
