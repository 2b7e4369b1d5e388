"""The window both of Hearth's pacers keep: no more requests in any stretch of time than Discord allows."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable


class AnswerWindow:
    """Places for at most `limit` requests in any `window` seconds, as Discord counts them.

    A request takes a place before it is sent and gives it back only `window` seconds after its
    answer came. Discord counts a request somewhere between its leaving and its answer, so however
    late requests leave or arrive (a busy event loop, a slow network), no `limit + 1` of them ever
    fall in one window. Callers serve their waiters in order by holding a lock around `take`.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[object]],
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._waiting = 0  # places taken whose answer is not back yet
        self._answered: deque[float] = deque()  # when the answers of the last window came
        self._freed = asyncio.Event()

    async def take(self) -> float:
        """Wait for a free place and take it; return the time it was taken."""
        while True:
            # Counted on the clock as it is (a sleep may end a little early), never ahead of it.
            now = self._clock()
            while self._answered and self._answered[0] <= now - self.window:
                self._answered.popleft()
            if self._waiting + len(self._answered) < self.limit:
                self._waiting += 1
                return now
            if self._answered:
                await self._sleep(self._answered[0] + self.window - now)
            else:  # every place is waiting for its answer
                self._freed.clear()
                await self._freed.wait()

    def give_back(self) -> None:
        """Note that a request's answer is back: its place frees `window` seconds from now."""
        self._waiting -= 1
        self._answered.append(self._clock())
        self._freed.set()

    def idle_since(self, cutoff: float) -> bool:
        """Say whether no place is taken and no answer came after `cutoff`."""
        return self._waiting == 0 and (not self._answered or self._answered[-1] <= cutoff)
