"""What each chat said last: the few turns a follow-up question leans on ("А сколько из них работают?").

Kept in memory only (a restart forgets, which a conversation may), per chat id, for a quiet while
(`QUIET_S`); `/new` forgets a chat at once. Bounded on both sides: a chat keeps its last `TURNS` turns and
the memory its `CHATS` most recently active chats, so a flood of chats cannot grow it. Handlers run on the
event loop but also hand work to threads, so every access takes a lock. One `Conversations` lives in
`BotData`; nothing here is module-global.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

QUIET_S = 30 * 60  # a chat silent this long starts afresh
TURNS = 3  # turns kept per chat
CHATS = 10_000  # chats kept at most; the least recently active go first
PASSAGE_CHARS = 2000  # of each passage's text, enough for followup.resolve to find a name in


@dataclass(frozen=True)
class Turn:
    """One question as understood (after resolving), what was answered, and the passages' texts."""

    question: str
    answer: str
    passages: tuple[str, ...] = ()


class Conversations:
    """The last turns of each chat, forgotten after `quiet_s` of silence."""

    def __init__(
        self,
        quiet_s: float = QUIET_S,
        turns: int = TURNS,
        chats: int = CHATS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.quiet_s = quiet_s
        self.turns = turns
        self.chats = chats
        self._clock = clock
        self._lock = threading.Lock()
        self._chats: OrderedDict[int, tuple[float, deque[Turn]]] = OrderedDict()

    def add(self, chat_id: int, question: str, answer: str = "", passages: tuple[str, ...] | list[str] = ()) -> Turn:
        """Remember a turn of this chat (the oldest turn and the least recently active chat go when full)."""
        turn = Turn(question, answer, tuple(p[:PASSAGE_CHARS] for p in passages))
        now = self._clock()
        with self._lock:
            entry = self._chats.pop(chat_id, None)
            history = entry[1] if entry is not None and now - entry[0] <= self.quiet_s else deque(maxlen=self.turns)
            history.append(turn)
            self._chats[chat_id] = (now, history)
            while len(self._chats) > self.chats:
                self._chats.popitem(last=False)
        return turn

    def last(self, chat_id: int) -> Turn | None:
        """The chat's latest turn, unless the chat has been quiet longer than `quiet_s`."""
        history = self.history(chat_id)
        return history[-1] if history else None

    def history(self, chat_id: int) -> list[Turn]:
        """The chat's kept turns, oldest first; empty after a quiet while (and the chat is forgotten)."""
        now = self._clock()
        with self._lock:
            entry = self._chats.get(chat_id)
            if entry is None:
                return []
            if now - entry[0] > self.quiet_s:
                del self._chats[chat_id]
                return []
            return list(entry[1])

    def forget(self, chat_id: int) -> bool:
        """Start this chat over (/new); True when there was something to forget."""
        with self._lock:
            return self._chats.pop(chat_id, None) is not None

    def __len__(self) -> int:
        with self._lock:
            return len(self._chats)


class Languages:
    """The language each person last used the bot in (by user id; a private chat's id is its user's), so
    messages the bot starts itself (a question pushed to staff) go out in it. Bounded like `Conversations`."""

    def __init__(self, size: int = CHATS):
        self.size = size
        self._lock = threading.Lock()
        self._languages: OrderedDict[int, str] = OrderedDict()

    def note(self, user_id: int, language: str) -> None:
        with self._lock:
            self._languages.pop(user_id, None)
            self._languages[user_id] = language
            while len(self._languages) > self.size:
                self._languages.popitem(last=False)

    def get(self, user_id: int) -> str | None:
        with self._lock:
            return self._languages.get(user_id)
