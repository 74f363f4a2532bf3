"""The language model's answer in Telegram: drafts while it streams, then the checked answer or the extract.

bot/answering.py decides what is shown; this module only carries it to the chat. In a private chat the model's
text so far goes out with sendMessageDraft (Bot API 10.0: an ephemeral preview that animates, no message is
created), at most one draft every DRAFT_INTERVAL_S seconds. The model runs in a worker thread (its client runs its
own event loop), so each delta crosses to the bot's loop with call_soon_threadsafe. The drafts stop, and the last
one in flight is awaited, before the caller sends the ONE final message — the checked text with its sources, or
the extract when the check failed: text that failed the check is never a message, only a draft that the final
message replaces. A draft that Telegram refuses stops the drafts, never the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from bot.answering import AnswerSource, ShownAnswer, asks_model, shown_answer
from bot.telegram import formatting
from bot.telegram.context import BotContext
from index import Answer

log = logging.getLogger(__name__)

DRAFT_INTERVAL_S = 0.5  # at most one draft this often: Telegram rate-limits bots, and a reader sees no difference
DRAFT_LIMIT = formatting.TELEGRAM_LIMIT - 1  # a draft's text is at most one message long


class DraftStream:
    """Drafts of a growing text in one private chat: `on_delta` from any thread, `close()` on the bot's loop."""

    def __init__(self, context: BotContext, chat_id: int, draft_id: int, interval: float = DRAFT_INTERVAL_S):
        self._context = context
        self._chat_id = chat_id
        self._draft_id = draft_id or 1  # Telegram requires a non-zero id
        self._interval = interval
        self._loop = asyncio.get_running_loop()
        self._latest = ""
        self._sent = ""
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._closed = False
        self.drafts = 0  # drafts sent

    def on_delta(self, text: str) -> None:
        """The model's display text so far; called from the worker thread that generates."""
        self._loop.call_soon_threadsafe(self._offer, text)

    def _offer(self, text: str) -> None:
        if self._closed:
            return
        self._latest = text
        if self._task is None:
            self._task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        """Send the newest text, wait the interval, again while it grows; leading edge, so the first is at once."""
        while not self._closed and self._latest != self._sent:
            text = self._latest
            try:
                await self._context.bot.send_message_draft(
                    self._chat_id, self._draft_id, formatting.escape(_shorten(text))
                )
            except Exception:  # a draft is a courtesy: a refusal must not cost the answer
                log.warning("Could not send a draft; the answer follows without them", exc_info=True)
                self._closed = True
                break
            self._sent = text
            self.drafts += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._interval)
        self._task = None

    async def close(self) -> None:
        """No draft after this returns: the final message may go out."""
        self._closed = True
        self._stop.set()
        task = self._task
        if task is not None:
            await task


def _shorten(text: str) -> str:
    return text if len(text) <= DRAFT_LIMIT else text[: DRAFT_LIMIT - 1] + "…"


async def write_answer(
    context: BotContext,
    chat_id: int,
    answer: Answer,
    *,
    private: bool,
    draft_id: int,
    turns: Sequence[tuple[str, str]] = (),
) -> ShownAnswer:
    """What to show for the engine's `answer`: the model's checked answer when a model is configured and the
    question is covered, streamed as drafts in a private chat (Telegram has drafts only there); else the extract.
    Returns before anything final is sent: the caller sends the one final message."""
    writer = context.bot_data.writer
    if writer is None or not asks_model(writer, answer):
        return ShownAnswer(answer, AnswerSource.EXTRACT)
    stream = DraftStream(context, chat_id, draft_id) if private else None
    try:
        return await asyncio.to_thread(
            shown_answer, writer, answer, turns, stream.on_delta if stream is not None else None
        )
    finally:
        if stream is not None:
            await stream.close()
