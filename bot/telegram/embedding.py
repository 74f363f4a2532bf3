"""Embedding in the bot's background: a document is found by keywords at once and by meaning once embedded.

A real model embeds a few passages a second on a small CPU (a 300-page PDF is about a minute of model
work), so the bot never makes anyone wait for it. An upload is committed without vectors and reported
at once; its chunks are embedded afterwards in a worker thread, and staff hear when that is done. On
start, chunks that a killed run left without a vector are embedded the same way, while investors are
answered meanwhile (those chunks by keywords only, until their vectors arrive).

One embedding run at a time: a second caller waits on the event loop, not in a worker thread (those
answer questions), and then finds most of its chunks done by the run before it. A run commits small
batches, so a question sees the vector index before or after a batch. A stopping bot waits for a few
texts at most, not a batch: the run asks between small model calls whether the application still runs
(`Application.stop()` clears `running` first, then waits for jobs and tasks), commits the chunks it has
encoded, and what it leaves undone the next start finishes. SIGTERM (`docker stop`) ends the bot in a
second or two, well inside Docker's default grace of 10 s.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from index import Engine

log = logging.getLogger(__name__)

# Chunks per committed batch (a stop does not wait for it: the run stops between texts and commits what it has).
BACKGROUND_BATCH = 16


class EmbedOutcome(str, Enum):
    DONE = "done"  # every chunk has a vector from the current model
    STOPPED = "stopped"  # the application stopped (between two model calls): the next start goes on
    FAILED = "failed"  # the model raised; what was committed before stays


@dataclass(frozen=True)
class EmbedRun:
    """What one background run did."""

    outcome: EmbedOutcome
    chunks: int  # chunks that got a vector in this run
    seconds: float
    error: str | None = None  # FAILED: the exception, in one line


class BackgroundEmbedding:
    """The bot's embedding runs for one engine; `keep_going` says whether the application still runs."""

    def __init__(self, engine: Engine, keep_going: Callable[[], bool], batch: int = BACKGROUND_BATCH):
        self.engine = engine
        self.keep_going = keep_going
        self.batch = batch
        self._lock = asyncio.Lock()  # binds to the running loop at its first contended use

    @property
    def enabled(self) -> bool:
        return self.engine.embedder is not None

    @property
    def busy(self) -> bool:
        """A run is under way (or waiting for the one before it)."""
        return self._lock.locked()

    def missing(self, among: Sequence[int] | None = None) -> int:
        """Chunks without a vector from the current model: all, or those `among` given (call in a worker thread)."""
        if self.engine.embedder is None:
            return 0
        model = self.engine.embedder.name
        if among is None:
            return self.engine.store.missing_vector_count(model)
        return len(self.engine.store.chunks_without_vectors(model, among=among)) if among else 0

    def embedded(self, chunk_ids: Sequence[int]) -> bool | None:
        """Whether these chunks all have vectors now; None when none of them exists any more (their
        document was removed or replaced meanwhile). Call in a worker thread."""
        if not chunk_ids or self.engine.embedder is None:
            return None
        if not self.engine.store.chunks(list(chunk_ids)):
            return None
        return self.missing(chunk_ids) == 0

    async def run(self) -> EmbedRun:
        """Embed every chunk that lacks a vector, in a worker thread, after any run already under way."""
        async with self._lock:
            if not self.keep_going():
                return EmbedRun(EmbedOutcome.STOPPED, 0, 0.0)
            return await asyncio.to_thread(self._run)

    def _run(self) -> EmbedRun:
        started = time.monotonic()
        done = 0

        def progress(count: int, total: int) -> None:
            nonlocal done
            done = count

        def should_stop() -> bool:
            return not self.keep_going()

        try:
            done = self.engine.sync_vectors(progress, batch=self.batch, should_stop=should_stop)
            if should_stop():
                return EmbedRun(EmbedOutcome.STOPPED, done, time.monotonic() - started)
        except Exception as exc:  # the model failed: the chunks stay searchable by keywords; say why
            log.exception("Embedding in the background failed after %d chunks", done)
            return EmbedRun(EmbedOutcome.FAILED, done, time.monotonic() - started, f"{type(exc).__name__}: {exc}")
        return EmbedRun(EmbedOutcome.DONE, done, time.monotonic() - started)
