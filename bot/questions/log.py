"""The question log: its tables, their migrations, and every query on them.

The log is the application's, not the library's: what investors asked, what the documents answered,
the feedback, and the unanswered questions grouped into topics (the gaps). It shares the SQLite file
with index/store/database.py but owns its tables through its own migration set, so either side can change its
schema without the other; writes go through the store's `transaction()` like the library's own.

Raw Telegram ids and names are never stored: a salted hash still lets staff count distinct users
and check that feedback comes from the person who asked.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import json
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sqlite_utils
from sqlite_utils.migrations import Migrations

from bot.questions.gaps import Topic, alternatives, content_stems, group_questions
from index import Answer, Store, run_script

SALT_META_KEY = "log_salt"

MIGRATIONS = Migrations("questionlog")


# Migrations: append, never edit a released one. IF NOT EXISTS everywhere: a database made before
# migration sets (v0.1, where these were global numbers 2 and 3) already holds the tables and keeps them.
@MIGRATIONS(name="questions")
def _questions_table(db: sqlite_utils.Database) -> None:
    """What was asked, what was answered, the feedback. No names, no raw ids."""
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS questions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            asked_at TEXT NOT NULL,
            channel TEXT NOT NULL,
            user_hash TEXT,
            chat_type TEXT,
            language TEXT,
            question TEXT NOT NULL,
            answered INTEGER NOT NULL,
            answer TEXT,
            top_score REAL,
            doc_ids TEXT NOT NULL DEFAULT '[]',
            latency_ms INTEGER,
            feedback INTEGER CHECK (feedback IN (-1, 1)),
            feedback_at TEXT
        );
        CREATE INDEX IF NOT EXISTS questions_asked_at ON questions(asked_at);
        CREATE INDEX IF NOT EXISTS questions_answered ON questions(answered, asked_at)
        """,
    )


@MIGRATIONS(name="gap_topics")
def _gap_topics_table(db: sqlite_utils.Database) -> None:
    """Unanswered questions grouped into topics (the gaps), recomputed by the review tools."""
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS gap_topics (
            question_id INTEGER PRIMARY KEY REFERENCES questions(id) ON DELETE CASCADE,
            topic INTEGER NOT NULL,
            label TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS gap_topics_topic ON gap_topics(topic)
        """,
    )


@MIGRATIONS(name="small_talk")
def _small_talk_column(db: sqlite_utils.Database) -> None:
    """Greetings, thanks, "?" are logged for the record but are not questions: the kind of small talk, or NULL.
    Gaps, /stats and the unanswered lists leave these rows out."""
    if "small_talk" not in db["questions"].columns_dict:
        run_script(db, "ALTER TABLE questions ADD COLUMN small_talk TEXT")


@MIGRATIONS(name="generated_answers")
def _generated_answer_columns(db: sqlite_utils.Database) -> None:
    """Where a shown answer came from (the language model or the extract) and what the model cost or why its
    answer was not shown; the model's daily token count, so a restart does not reset the budget."""
    run_script(
        db,
        """
        ALTER TABLE questions ADD COLUMN answer_source TEXT;
        ALTER TABLE questions ADD COLUMN llm_model TEXT;
        ALTER TABLE questions ADD COLUMN llm_latency_ms INTEGER;
        ALTER TABLE questions ADD COLUMN llm_prompt_tokens INTEGER;
        ALTER TABLE questions ADD COLUMN llm_completion_tokens INTEGER;
        ALTER TABLE questions ADD COLUMN llm_rejected TEXT;
        CREATE TABLE IF NOT EXISTS llm_budget (
            day TEXT PRIMARY KEY,
            tokens INTEGER NOT NULL
        )
        """,
    )


class Feedback(str, enum.Enum):
    """What became of a 👍/👎 press: counted, aimed at a question that is gone, or at someone else's."""

    OK = "ok"
    MISSING = "missing"
    NOT_YOURS = "not_yours"


@dataclass(frozen=True)
class QuestionStats:
    """The log in figures for a period: the staff reports and the digest read these."""

    questions: int
    answered: int
    answer_rate: float | None  # None when nothing was asked
    positive: int
    negative: int
    per_day: list[dict]  # day, questions, answered, positive, negative
    most_cited: list[dict]  # id, title, date, citations
    # The language model (INVESTBOT_LLM_URL): answered questions it was asked about, how many of its answers were
    # shown, why the others were not, and its latency in ms (None when it was never asked).
    llm_asked: int = 0
    llm_shown: int = 0
    llm_rejections: dict[str, int] = field(default_factory=dict)
    llm_latency_p50: int | None = None
    llm_latency_p95: int | None = None


_LOGGED_COLUMNS = (
    "asked_at",
    "channel",
    "user_hash",
    "chat_type",
    "language",
    "question",
    "answered",
    "answer",
    "top_score",
    "doc_ids",
    "latency_ms",
    "answer_source",
    "llm_model",
    "llm_latency_ms",
    "llm_prompt_tokens",
    "llm_completion_tokens",
    "llm_rejected",
    "small_talk",
)


class QuestionLog:
    """The question log in a store's database. Creating one brings its tables up to date."""

    def __init__(self, store: Store, salt: str, retention_days: int | None = None):
        self.store = store
        self._salt = salt.encode("utf-8")
        self.retention_days = retention_days
        store.apply_migrations(MIGRATIONS)

    @classmethod
    def open(cls, store: Store, salt: str | None = None, retention_days: int | None = None) -> QuestionLog:
        """Use the configured salt, else one generated once and kept in the store; apply retention."""
        if not salt:
            salt = store.get_meta(SALT_META_KEY)
            if not salt:
                salt = secrets.token_hex(16)
                store.set_meta(SALT_META_KEY, salt)
        log = cls(store, salt, retention_days)
        log.purge()
        return log

    # --- writing ---------------------------------------------------------------------------------

    def user_hash(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        return hmac.new(self._salt, str(user_id).encode("ascii"), hashlib.sha256).hexdigest()[:32]

    def record(
        self,
        answer: Answer,
        *,
        channel: str,
        latency_ms: int,
        user_id: int | None = None,
        chat_type: str | None = None,
        generation: Mapping[str, object] | None = None,
        small_talk: str | None = None,
    ) -> int:
        """Log one answered (or unanswered) question, or small talk (its kind); returns its id for the buttons.

        `generation`: the columns of the language model's part (bot/answering.py ShownAnswer.log_columns()):
        answer_source, llm_model, llm_latency_ms, llm_prompt_tokens, llm_completion_tokens, llm_rejected."""
        return self.log(
            {
                **(generation or {}),
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
                "small_talk": small_talk,
            }
        )

    def log(self, entry: dict) -> int:
        """Insert one row from its column values (asked_at defaults to now); returns its id."""
        values = [entry.get(c) for c in _LOGGED_COLUMNS]
        values[0] = values[0] or _now()
        values[_LOGGED_COLUMNS.index("doc_ids")] = json.dumps(entry.get("doc_ids") or [])
        values[_LOGGED_COLUMNS.index("answered")] = int(bool(entry.get("answered")))
        columns, marks = ", ".join(_LOGGED_COLUMNS), ", ".join("?" * len(_LOGGED_COLUMNS))
        # Raw SQL, not table.insert(): sqlite-utils would commit the open transaction.
        with self.store.transaction():
            cur = self.store.db.execute(f"INSERT INTO questions ({columns}) VALUES ({marks})", values)
        assert cur.lastrowid is not None  # an INSERT always sets lastrowid
        return cur.lastrowid

    def feedback(self, question_id: int, user_id: int, value: int) -> Feedback:
        """Count a vote from the person who asked; anyone else's press changes nothing."""
        row = self.question(question_id)
        if row is None:
            return Feedback.MISSING
        if row["user_hash"] != self.user_hash(user_id):
            return Feedback.NOT_YOURS
        self.set_feedback(question_id, value)
        return Feedback.OK

    def set_feedback(self, question_id: int, value: int) -> bool:
        """Record 👍 (1) or 👎 (-1); the latest vote counts. False if there is no such question."""
        if value not in (-1, 1):
            raise ValueError(f"feedback must be 1 or -1, not {value!r}")
        with self.store.transaction():
            cur = self.store.db.execute(
                "UPDATE questions SET feedback = ?, feedback_at = ? WHERE id = ?", [value, _now(), question_id]
            )
        return cur.rowcount == 1

    def purge(self, now: dt.datetime | None = None) -> int:
        """Delete entries older than the retention period (none when retention is not set)."""
        if not self.retention_days:
            return 0
        now = now or dt.datetime.now(dt.UTC)
        return self.purge_before((now - dt.timedelta(days=self.retention_days)).replace(microsecond=0).isoformat())

    def purge_before(self, before: str) -> int:
        """Delete entries asked before `before` (ISO timestamp); returns how many went."""
        with self.store.transaction():
            cur = self.store.db.execute("DELETE FROM questions WHERE asked_at < ?", [before])
        return cur.rowcount

    # --- reading ---------------------------------------------------------------------------------

    def question(self, question_id: int) -> dict | None:
        rows = list(self.store.db.query("SELECT * FROM questions WHERE id = ?", [question_id]))
        return rows[0] if rows else None

    def questions(
        self,
        *,
        since: str | None = None,
        unanswered: bool = False,
        negative: bool = False,
        limit: int | None = None,
    ) -> list[dict]:
        """Logged questions (not small talk), newest first; `since` is an ISO timestamp or date (UTC)."""
        where: list[str] = ["small_talk IS NULL"]
        params: list[str | int] = []
        if since:
            where.append("asked_at >= ?")
            params.append(since)
        if unanswered:
            where.append("answered = 0")
        if negative:
            where.append("feedback = -1")
        sql = "SELECT * FROM questions WHERE " + " AND ".join(where)
        sql += " ORDER BY asked_at DESC, id DESC"
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        return list(self.store.db.query(sql, params))

    def stats(self, since: str | None = None) -> QuestionStats:
        """Counts per day, answer rate, feedback balance and the most cited documents."""
        # Small talk ("Привет", "?") is no question: left out of the figures.
        cond, params = ("WHERE small_talk IS NULL", [])
        if since:
            cond, params = cond + " AND asked_at >= ?", [since]
        db = self.store.db
        days = list(
            db.query(
                f"""SELECT date(asked_at) AS day, COUNT(*) AS questions, SUM(answered) AS answered,
                           SUM(feedback = 1) AS positive, SUM(feedback = -1) AS negative
                    FROM questions {cond} GROUP BY day ORDER BY day""",
                params,
            )
        )
        q_cond = cond.replace("asked_at", "q.asked_at").replace("small_talk", "q.small_talk")
        cited = list(
            db.query(
                f"""SELECT d.id, d.title, d.date, COUNT(*) AS citations
                    FROM questions q, json_each(q.doc_ids) j JOIN documents d ON d.id = j.value
                    {q_cond} GROUP BY d.id ORDER BY citations DESC, d.id LIMIT 10""",
                params,
            )
        )
        total = sum(d["questions"] for d in days)
        answered = sum(d["answered"] or 0 for d in days)
        llm_rows = list(
            db.query(
                f"""SELECT answer_source, llm_rejected, llm_latency_ms FROM questions
                    {cond + " AND" if cond else "WHERE"} llm_model IS NOT NULL""",
                params,
            )
        )
        rejections: dict[str, int] = {}
        for r in llm_rows:
            if r["llm_rejected"]:
                rejections[r["llm_rejected"]] = rejections.get(r["llm_rejected"], 0) + 1
        latencies = sorted(r["llm_latency_ms"] for r in llm_rows if r["llm_latency_ms"] is not None)
        return QuestionStats(
            questions=total,
            answered=answered,
            answer_rate=round(answered / total, 4) if total else None,
            positive=sum(d["positive"] or 0 for d in days),
            negative=sum(d["negative"] or 0 for d in days),
            per_day=days,
            most_cited=cited,
            llm_asked=len(llm_rows),
            llm_shown=sum(r["answer_source"] == "llm" for r in llm_rows),
            llm_rejections=dict(sorted(rejections.items(), key=lambda item: (-item[1], item[0]))),
            llm_latency_p50=percentile(latencies, 0.50),
            llm_latency_p95=percentile(latencies, 0.95),
        )

    # --- the gaps --------------------------------------------------------------------------------

    def gap_topics(self, rows: Sequence[dict]) -> list[Topic]:
        """Group logged questions, weighting words by how rare they are in the stored documents."""
        pairs = [(r["id"], r["question"]) for r in sorted(rows, key=lambda r: r["id"])]
        stems = {a for _, text in pairs for stem in content_stems(text) for a in alternatives(stem)}
        return group_questions(
            pairs, corpus_df=self.store.term_document_frequencies(stems), corpus_size=self.store.chunk_count()
        )

    def refresh_gaps(self, since: str | None = None) -> list[Topic]:
        """Regroup the unanswered questions and store the topics (what the review pages show)."""
        topics = self.gap_topics(self.questions(since=since, unanswered=True))
        self.replace_gap_topics(
            [(qid, number, t.label) for number, t in enumerate(topics, 1) for qid in t.question_ids]
        )
        return topics

    def replace_gap_topics(self, assignments: Sequence[tuple[int, int, str]]) -> None:
        """Store (question id, topic number, label) for the unanswered questions, replacing the old set."""
        with self.store.transaction():
            self.store.db.execute("DELETE FROM gap_topics")
            self.store.db.conn.executemany(
                "INSERT INTO gap_topics (question_id, topic, label) VALUES (?, ?, ?)", list(assignments)
            )


class StoredBudget:
    """The language model's daily token count in the question log's database (index.generation.BudgetStorage),
    so that a restart does not reset the budget. Only today's row is kept."""

    def __init__(self, store: Store):
        self.store = store
        store.apply_migrations(MIGRATIONS)

    def load(self, day: str) -> int:
        rows = list(self.store.db.query("SELECT tokens FROM llm_budget WHERE day = ?", [day]))
        return int(rows[0]["tokens"]) if rows else 0

    def save(self, day: str, used: int) -> None:
        with self.store.transaction():
            self.store.db.execute("DELETE FROM llm_budget WHERE day != ?", [day])
            self.store.db.execute(
                "INSERT INTO llm_budget (day, tokens) VALUES (?, ?) "
                "ON CONFLICT(day) DO UPDATE SET tokens = excluded.tokens",
                [day, used],
            )


def percentile(values: Sequence[int], share: float) -> int | None:
    """The nearest-rank percentile of sorted `values` (None when there are none)."""
    if not values:
        return None
    rank = max(1, math.ceil(share * len(values)))
    return int(values[rank - 1])


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
