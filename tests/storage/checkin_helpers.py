"""Helpers shared by the check-in storage tests."""

from __future__ import annotations

from datetime import datetime

from bot.services.checkins import CheckinService, ClaimResult


async def claim_all(service: CheckinService, now: datetime) -> ClaimResult:
    """Claim everything due at `now`, gathering the batches the runner would post as they come."""
    result = ClaimResult()
    async for batch in service.claim_due_batches(now):
        result.claimed.extend(batch.claimed)
        result.missed.extend(batch.missed)
        result.skipped_ids.extend(batch.skipped_ids)
    return result
