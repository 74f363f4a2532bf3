"""Escalations: questions the documents did not answer, handed to agency staff, and the staff answers going back.

An investor who got "not found" may press "Ask the agency"; a staff member answers by replying to the
bot's message, and the answer reaches every investor who asked the same (normalised) question. All of
it lives in SQLite, so a restart between the question and the staff reply loses nothing. The tables
share the file with the library's and the question log's, and are owned here through a migration set
of their own ("escalations"): registering onto the question log's set from a second module would make
its migrations run or not depending on which modules happened to be imported first.

- `escalations`: one row per distinct question sent to staff — the question, when it was asked and
  escalated, how many investors wait for it, the staff answer and when it came, and whether it became
  an agency answer in the knowledge base.
- `escalation_askers`: who waits for which escalation (the question log's salted user hash), and the
  one raw Telegram id the project keeps: the chat to deliver the answer to. It is kept only while the
  escalation waits, and set to NULL when the answer goes out or the escalation expires.
- `escalation_messages`: which staff message stands for which escalation, so a reply to it is an answer.

Handlers call these methods from worker threads; every write is one `store.transaction()`.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlite_utils
from sqlite_utils.migrations import Migrations

from bot.messages import agency_source
from bot.questions.log import QuestionLog
from index import detect_language, run_script

if TYPE_CHECKING:
    from index import Engine

MIGRATIONS = Migrations("escalations")

MAX_WAITING = 3  # questions one investor may have waiting for staff at a time
DEFAULT_DAYS = 14  # how long a waiting escalation (and the investor's chat id) is kept
TITLE_CHARS = 150  # an agency answer is titled after its question, cut to this length


# Migrations: append, never edit a released one.
@MIGRATIONS(name="escalations")
def _escalation_tables(db: sqlite_utils.Database) -> None:
    """Escalations, who waits for them (chat ids only while waiting), and the staff messages that stand for them."""
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS escalations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            question_key TEXT NOT NULL,
            question TEXT NOT NULL,
            language TEXT NOT NULL,
            asked_at TEXT NOT NULL,
            escalated_at TEXT NOT NULL,
            askers INTEGER NOT NULL DEFAULT 1,
            status TEXT NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'answered', 'expired')),
            answer TEXT,
            answered_at TEXT,
            delivered INTEGER,
            expired_at TEXT,
            doc_id INTEGER,
            added_at TEXT
        );
        CREATE UNIQUE INDEX IF NOT EXISTS escalations_one_waiting ON escalations(question_key)
            WHERE status = 'waiting';
        CREATE INDEX IF NOT EXISTS escalations_status ON escalations(status, escalated_at);
        CREATE TABLE IF NOT EXISTS escalation_askers (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            escalation_id INTEGER NOT NULL REFERENCES escalations(id) ON DELETE CASCADE,
            question_id INTEGER UNIQUE REFERENCES questions(id) ON DELETE SET NULL,
            user_hash TEXT NOT NULL,
            language TEXT NOT NULL,
            chat_id INTEGER,
            joined_at TEXT NOT NULL,
            UNIQUE (escalation_id, user_hash)
        );
        CREATE INDEX IF NOT EXISTS escalation_askers_waiting ON escalation_askers(user_hash)
            WHERE chat_id IS NOT NULL;
        CREATE TABLE IF NOT EXISTS escalation_messages (
            chat_id INTEGER NOT NULL,
            message_id INTEGER NOT NULL,
            escalation_id INTEGER NOT NULL REFERENCES escalations(id) ON DELETE CASCADE,
            PRIMARY KEY (chat_id, message_id)
        );
        CREATE INDEX IF NOT EXISTS escalation_messages_escalation ON escalation_messages(escalation_id)
        """,
    )


# --- text work -----------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


def question_key(question: str) -> str:
    """The question as compared for "the same question": case, punctuation, spacing and ё/е do not count."""
    text = unicodedata.normalize("NFKC", question).casefold().replace("ё", "е")
    return " ".join(_WORD.findall(text)) or text.strip()


def agency_title(question: str, limit: int = TITLE_CHARS) -> str:
    """An agency answer's title: its question on one line, cut at a word when it is long."""
    one_line = " ".join(question.split())
    if len(one_line) <= limit:
        return one_line
    cut = one_line[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def agency_text(question: str, answer: str) -> str:
    """What an agency answer document holds: the question, so a paraphrase finds it, then the answer."""
    return f"{question.strip()}\n\n{answer.strip()}"


# --- typed results ----------------------------------------------------------------------------------


class Status(str, enum.Enum):
    WAITING = "waiting"
    ANSWERED = "answered"
    EXPIRED = "expired"


class EscalateOutcome(str, enum.Enum):
    """What became of a press of "Ask the agency"."""

    CREATED = "created"  # a new escalation: staff must be told
    JOINED = "joined"  # the same question was already waiting: this investor now waits for it too
    ALREADY = "already"  # this investor already waits for this question
    LIMIT = "limit"  # this investor already has MAX_WAITING questions waiting
    CLOSED = "closed"  # this question was escalated before and that escalation is over
    ANSWERED = "answered"  # the documents answered this question: nothing to escalate
    NOT_YOURS = "not_yours"  # someone else's question
    MISSING = "missing"  # no such question (purged, or made-up callback data)


class ReplyOutcome(str, enum.Enum):
    """What became of a staff reply."""

    DELIVER = "deliver"  # the escalation is answered now: send the answer to the recipients
    ALREADY_ANSWERED = "already_answered"
    EXPIRED = "expired"
    MISSING = "missing"


class KnowledgeOutcome(str, enum.Enum):
    ADDED = "added"
    ALREADY = "already"
    NOT_ANSWERED = "not_answered"


@dataclass(frozen=True)
class Escalation:
    id: int
    question: str
    language: str
    asked_at: str
    escalated_at: str
    askers: int
    status: Status
    answer: str | None = None
    answered_at: str | None = None
    delivered: int | None = None
    expired_at: str | None = None
    doc_id: int | None = None

    @classmethod
    def from_row(cls, row: dict) -> Escalation:
        return cls(
            id=row["id"],
            question=row["question"],
            language=row["language"],
            asked_at=row["asked_at"],
            escalated_at=row["escalated_at"],
            askers=row["askers"],
            status=Status(row["status"]),
            answer=row["answer"],
            answered_at=row["answered_at"],
            delivered=row["delivered"],
            expired_at=row["expired_at"],
            doc_id=row["doc_id"],
        )


@dataclass(frozen=True)
class Recipient:
    """An investor to deliver to: the chat, their language, and their own wording of the question."""

    chat_id: int
    language: str
    question: str


@dataclass(frozen=True)
class Escalated:
    outcome: EscalateOutcome
    escalation: Escalation | None = None
    language: str | None = None  # the question's language, once the question is known


@dataclass(frozen=True)
class Reply:
    outcome: ReplyOutcome
    escalation: Escalation | None = None
    recipients: list[Recipient] = field(default_factory=list)


@dataclass(frozen=True)
class Knowledge:
    outcome: KnowledgeOutcome
    doc_id: int | None = None
    title: str | None = None


@dataclass(frozen=True)
class AgencyAnswer:
    """A curated agency answer in the knowledge base (a document whose source is `agency-answer:<id>`)."""

    doc_id: int
    title: str
    date: str | None
    language: str
    source: str
    escalation_id: int | None
    question: str | None
    answer: str | None

    def to_dict(self) -> dict:
        return {
            "id": self.doc_id,
            "title": self.title,
            "date": self.date,
            "language": self.language,
            "source": self.source,
            "escalation_id": self.escalation_id,
            "question": self.question,
            "answer": self.answer,
        }


# --- the store ------------------------------------------------------------------------------------


class Escalations:
    """The escalation tables beside a question log. Creating one brings its tables up to date."""

    def __init__(self, questions: QuestionLog, days: int = DEFAULT_DAYS, max_waiting: int = MAX_WAITING):
        self.questions = questions
        self.store = questions.store
        self.days = days
        self.max_waiting = max_waiting
        self.store.apply_migrations(MIGRATIONS)

    # --- an investor asks the agency ----------------------------------------------------------

    def escalate(self, question_id: int, user_id: int, chat_id: int, now: dt.datetime | None = None) -> Escalated:
        """Send a logged, unanswered question to staff for the investor who asked it (one transaction).

        Only the asker may: the question log's user hash must match. The same normalised question
        already waiting is joined rather than sent again.
        """
        user_hash = self.questions.user_hash(user_id)
        stamp = _iso(now)
        with self.store.transaction():
            db = self.store.db
            row = db.execute(
                "SELECT question, language, answered, user_hash, asked_at FROM questions"
                " WHERE id = ? AND small_talk IS NULL",  # small talk is no question for staff
                [question_id],
            ).fetchone()
            if row is None:
                return Escalated(EscalateOutcome.MISSING)
            question, language, answered, owner, asked_at = row
            language = language or detect_language(question)
            if owner is None or owner != user_hash:
                return Escalated(EscalateOutcome.NOT_YOURS)
            if answered:
                return Escalated(EscalateOutcome.ANSWERED, language=language)
            before = db.execute(
                "SELECT escalation_id FROM escalation_askers WHERE question_id = ?", [question_id]
            ).fetchone()
            key = question_key(question)
            waiting = db.execute(
                "SELECT id FROM escalations WHERE status = 'waiting' AND question_key = ?", [key]
            ).fetchone()
            if (
                waiting is not None
                and db.execute(
                    "SELECT 1 FROM escalation_askers WHERE escalation_id = ? AND user_hash = ?", [waiting[0], user_hash]
                ).fetchone()
            ):
                return Escalated(EscalateOutcome.ALREADY, self._get(waiting[0]), language)
            if before is not None:
                return Escalated(EscalateOutcome.CLOSED, self._get(before[0]), language)
            if self._waiting_for_user(user_hash) >= self.max_waiting:
                return Escalated(EscalateOutcome.LIMIT, language=language)
            if waiting is not None:
                escalation_id = waiting[0]
                db.execute("UPDATE escalations SET askers = askers + 1 WHERE id = ?", [escalation_id])
                outcome = EscalateOutcome.JOINED
            else:
                escalation_id = db.execute(
                    """INSERT INTO escalations (question_key, question, language, asked_at, escalated_at)
                       VALUES (?, ?, ?, ?, ?)""",
                    [key, question, language, asked_at, stamp],
                ).lastrowid
                outcome = EscalateOutcome.CREATED
            db.execute(
                """INSERT INTO escalation_askers (escalation_id, question_id, user_hash, language, chat_id, joined_at)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                [escalation_id, question_id, user_hash, language, chat_id, stamp],
            )
            return Escalated(outcome, self._get(escalation_id), language)

    def waiting_for_user(self, user_id: int) -> int:
        """How many of this investor's questions wait for staff now."""
        return self._waiting_for_user(self.questions.user_hash(user_id))

    def _waiting_for_user(self, user_hash: str | None) -> int:
        row = self.store.db.execute(
            """SELECT COUNT(*) FROM escalation_askers a JOIN escalations e ON e.id = a.escalation_id
               WHERE a.user_hash = ? AND a.chat_id IS NOT NULL AND e.status = 'waiting'""",
            [user_hash],
        ).fetchone()
        return row[0]

    # --- staff messages -----------------------------------------------------------------------

    def record_staff_messages(self, escalation_id: int, messages: Sequence[tuple[int, int]]) -> None:
        """Remember which staff messages (chat id, message id) stand for the escalation."""
        with self.store.transaction():
            self.store.db.conn.executemany(
                "INSERT OR IGNORE INTO escalation_messages (chat_id, message_id, escalation_id) VALUES (?, ?, ?)",
                [(chat, message, escalation_id) for chat, message in messages],
            )

    def staff_messages(self, escalation_id: int) -> list[tuple[int, int]]:
        rows = self.store.db.execute(
            "SELECT chat_id, message_id FROM escalation_messages WHERE escalation_id = ? ORDER BY rowid",
            [escalation_id],
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def by_staff_message(self, chat_id: int, message_id: int) -> Escalation | None:
        """The escalation a staff message stands for, or None when it stands for none."""
        row = self.store.db.execute(
            "SELECT escalation_id FROM escalation_messages WHERE chat_id = ? AND message_id = ?", [chat_id, message_id]
        ).fetchone()
        return self._get(row[0]) if row else None

    # --- staff answer -------------------------------------------------------------------------

    def answer(self, escalation_id: int, text: str, now: dt.datetime | None = None) -> Reply:
        """Mark the escalation answered and hand back whom to deliver to; their chat ids are deleted here.

        One transaction claims the escalation, so two staff replying at once deliver one answer.
        """
        with self.store.transaction():
            escalation = self._get(escalation_id)
            if escalation is None:
                return Reply(ReplyOutcome.MISSING)
            if escalation.status is Status.ANSWERED:
                return Reply(ReplyOutcome.ALREADY_ANSWERED, escalation)
            if escalation.status is Status.EXPIRED:
                return Reply(ReplyOutcome.EXPIRED, escalation)
            recipients = self._recipients([escalation_id])
            self.store.db.execute(
                "UPDATE escalations SET status = 'answered', answer = ?, answered_at = ? WHERE id = ?",
                [text, _iso(now), escalation_id],
            )
            self._forget_chats([escalation_id])
            return Reply(ReplyOutcome.DELIVER, self._get(escalation_id), recipients)

    def record_delivery(self, escalation_id: int, delivered: int) -> None:
        with self.store.transaction():
            self.store.db.execute("UPDATE escalations SET delivered = ? WHERE id = ?", [delivered, escalation_id])

    # --- expiry and privacy ---------------------------------------------------------------------

    def expire(self, now: dt.datetime | None = None) -> list[Recipient]:
        """Close escalations waiting longer than `days`, delete their chat ids; returns whom to tell.

        With a question-log retention period, closed escalations older than it go too (their question
        text is the log's data).
        """
        now = now or dt.datetime.now(dt.UTC)
        cutoff = _iso(now - dt.timedelta(days=self.days))
        with self.store.transaction():
            db = self.store.db
            ids = [
                r[0]
                for r in db.execute(
                    "SELECT id FROM escalations WHERE status = 'waiting' AND escalated_at < ? ORDER BY id", [cutoff]
                ).fetchall()
            ]
            recipients = self._recipients(ids)
            if ids:
                marks = ",".join("?" * len(ids))
                db.execute(
                    f"UPDATE escalations SET status = 'expired', expired_at = ? WHERE id IN ({marks})",
                    [_iso(now), *ids],
                )
                self._forget_chats(ids)
            if self.questions.retention_days:
                old = _iso(now - dt.timedelta(days=self.questions.retention_days))
                db.execute("DELETE FROM escalations WHERE status != 'waiting' AND escalated_at < ?", [old])
        return recipients

    def _recipients(self, escalation_ids: Sequence[int]) -> list[Recipient]:
        if not escalation_ids:
            return []
        marks = ",".join("?" * len(escalation_ids))
        rows = self.store.db.execute(
            f"""SELECT a.chat_id, a.language, COALESCE(q.question, e.question)
                FROM escalation_askers a JOIN escalations e ON e.id = a.escalation_id
                LEFT JOIN questions q ON q.id = a.question_id
                WHERE a.escalation_id IN ({marks}) AND a.chat_id IS NOT NULL ORDER BY a.id""",
            list(escalation_ids),
        ).fetchall()
        return [Recipient(r[0], r[1], r[2]) for r in rows]

    def _forget_chats(self, escalation_ids: Sequence[int]) -> None:
        """Delete the chat ids (inside the caller's transaction), overwriting the freed bytes in the file too."""
        db = self.store.db
        marks = ",".join("?" * len(escalation_ids))
        previous = db.execute("PRAGMA secure_delete").fetchone()[0]
        db.execute("PRAGMA secure_delete = 1")
        try:
            db.execute(
                f"UPDATE escalation_askers SET chat_id = NULL WHERE chat_id IS NOT NULL AND escalation_id IN ({marks})",
                list(escalation_ids),
            )
        finally:
            db.execute(f"PRAGMA secure_delete = {int(previous)}")

    # --- knowledge --------------------------------------------------------------------------------

    def add_to_knowledge(self, engine: Engine, escalation_id: int, today: str) -> Knowledge:
        """Store an answered escalation as an agency answer document (through the engine), once."""
        escalation = self._get(escalation_id)
        if escalation is None or escalation.status is not Status.ANSWERED or not escalation.answer:
            return Knowledge(KnowledgeOutcome.NOT_ANSWERED)
        source = agency_source(escalation_id)
        existing = engine.find_document(source)
        if existing is not None:
            return Knowledge(KnowledgeOutcome.ALREADY, existing.id, existing.title)
        result = engine.add_text(
            source,
            agency_text(escalation.question, escalation.answer),
            title=agency_title(escalation.question),
            date=today,
            language=detect_language(escalation.answer),
        )
        with self.store.transaction():
            self.store.db.execute(
                "UPDATE escalations SET doc_id = ?, added_at = ? WHERE id = ?", [result.doc_id, _iso(), escalation_id]
            )
        return Knowledge(KnowledgeOutcome.ADDED, result.doc_id, result.title)

    def agency_answers(self) -> list[AgencyAnswer]:
        """The agency answers in the knowledge base, oldest first, with the staff answer when it is still known."""
        prefix = agency_source(0)[:-1]
        rows = self.store.db.query(
            """SELECT d.id, d.title, d.date, d.language, d.source, e.id AS escalation_id, e.question, e.answer
               FROM documents d LEFT JOIN escalations e ON d.source = ? || e.id
               WHERE substr(d.source, 1, ?) = ? ORDER BY d.id""",
            [prefix, len(prefix), prefix],
        )
        return [
            AgencyAnswer(
                r["id"],
                r["title"],
                r["date"],
                r["language"],
                r["source"],
                r["escalation_id"],
                r["question"],
                r["answer"],
            )
            for r in rows
        ]

    # --- reading ----------------------------------------------------------------------------------

    def get(self, escalation_id: int) -> Escalation | None:
        return self._get(escalation_id)

    def _get(self, escalation_id: int) -> Escalation | None:
        rows = list(self.store.db.query("SELECT * FROM escalations WHERE id = ?", [escalation_id]))
        return Escalation.from_row(rows[0]) if rows else None

    def waiting(self, limit: int | None = None) -> list[Escalation]:
        """Escalations waiting for staff, oldest first (the one waiting longest needs an answer first)."""
        sql = "SELECT * FROM escalations WHERE status = 'waiting' ORDER BY escalated_at, id"
        params: list = []
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        return [Escalation.from_row(r) for r in self.store.db.query(sql, params)]

    def waiting_count(self) -> int:
        return self.store.db.execute("SELECT COUNT(*) FROM escalations WHERE status = 'waiting'").fetchone()[0]

    def escalated_questions(self, *, since: str | None = None, limit: int | None = None) -> list[dict]:
        """Question-log rows that an investor sent on to staff, newest first (`investbot questions --escalated`)."""
        sql = "SELECT q.* FROM questions q JOIN escalation_askers a ON a.question_id = q.id"
        params: list = []
        if since:
            sql += " WHERE q.asked_at >= ?"
            params.append(since)
        sql += " ORDER BY q.asked_at DESC, q.id DESC"
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        return list(self.store.db.query(sql, params))


def _iso(moment: dt.datetime | None = None) -> str:
    moment = moment or dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat()
