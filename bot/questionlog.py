"""The question log as the application writes it: who asked (as a salted hash), what, and the outcome.

Raw Telegram ids and names are never stored: a salted hash still lets staff count distinct users
and check that feedback comes from the person who asked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from index.answer import Answer
from index.store import Store

SALT_META_KEY = "log_salt"


class QuestionLog:
    def __init__(self, store: Store, salt: str, retention_days: int | None = None):
        self.store = store
        self._salt = salt.encode("utf-8")
        self.retention_days = retention_days

    @classmethod
    def open(cls, store: Store, salt: str | None = None, retention_days: int | None = None) -> "QuestionLog":
        """Use the configured salt, else one generated once and kept in the store; apply retention."""
        if not salt:
            salt = store.get_meta(SALT_META_KEY)
            if not salt:
                salt = secrets.token_hex(16)
                store.set_meta(SALT_META_KEY, salt)
        log = cls(store, salt, retention_days)
        log.purge()
        return log

    def purge(self, now: dt.datetime | None = None) -> int:
        """Delete entries older than the retention period (none when retention is not set)."""
        if not self.retention_days:
            return 0
        now = now or dt.datetime.now(dt.timezone.utc)
        cutoff = (now - dt.timedelta(days=self.retention_days)).replace(microsecond=0).isoformat()
        return self.store.purge_questions(cutoff)

    def user_hash(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        return hmac.new(self._salt, str(user_id).encode("ascii"), hashlib.sha256).hexdigest()[:32]

    def record(
        self, answer: Answer, *, channel: str, latency_ms: int, user_id: int | None = None, chat_type: str | None = None
    ) -> int:
        return self.store.log_question(
            {
                "channel": channel,
                "user_hash": self.user_hash(user_id),
                "chat_type": chat_type,
                "language": answer.language,
                "question": answer.question,
                "answered": answer.answered,
                "answer": answer.answer or None,
                "top_score": answer.confidence,
                "doc_ids": list(dict.fromkeys(p.doc_id for p in answer.passages)),
                "latency_ms": latency_ms,
            }
        )

    def feedback(self, question_id: int, user_id: int, value: int) -> str:
        """'ok', 'missing' (no such question) or 'not_yours' (someone else's question)."""
        row = self.store.question(question_id)
        if row is None:
            return "missing"
        if row["user_hash"] != self.user_hash(user_id):
            return "not_yours"
        self.store.set_feedback(question_id, value)
        return "ok"
