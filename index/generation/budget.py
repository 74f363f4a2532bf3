"""A daily token budget for the language model: tokens used per UTC day, and a refusal once the day's are spent.

The state lives in a BudgetStorage the application passes in (its database, so the count survives a restart);
MemoryStorage keeps it in the object, for tests and for a bot that accepts losing the count on restart. No module
global holds any state. Thread-safe: the bot answers from several worker threads at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from .config import LLMError, RejectReason


class BudgetStorage(Protocol):
    def load(self, day: str) -> int:
        """Tokens used on `day` (an ISO date, UTC), 0 when none."""
        ...

    def save(self, day: str, used: int) -> None:
        """Record the tokens used on `day`; older days may be forgotten."""
        ...


class MemoryStorage:
    def __init__(self) -> None:
        self._days: dict[str, int] = {}

    def load(self, day: str) -> int:
        return self._days.get(day, 0)

    def save(self, day: str, used: int) -> None:
        self._days = {day: used}  # only today matters


def utc_day() -> str:
    return datetime.now(UTC).date().isoformat()


class DailyBudget:
    """`limit` tokens (prompt + completion) per UTC day; a limit of 0 or less means no limit."""

    def __init__(self, limit: int, storage: BudgetStorage | None = None, today: Callable[[], str] = utc_day) -> None:
        self.limit = limit
        self._storage = storage if storage is not None else MemoryStorage()
        self._today = today
        self._lock = threading.Lock()

    def used(self) -> int:
        with self._lock:
            return self._storage.load(self._today())

    def remaining(self) -> int | None:
        """Tokens left today, or None without a limit."""
        if self.limit <= 0:
            return None
        return max(0, self.limit - self.used())

    def check(self) -> None:
        """Raise LLMError(BUDGET) when today's tokens are spent."""
        if self.limit <= 0:
            return
        used = self.used()
        if used >= self.limit:
            raise LLMError(RejectReason.BUDGET, f"{used} of {self.limit} tokens used today")

    def spend(self, tokens: int) -> int:
        """Count `tokens` against today; returns today's total."""
        with self._lock:
            day = self._today()
            total = self._storage.load(day) + max(0, tokens)
            self._storage.save(day, total)
            return total
