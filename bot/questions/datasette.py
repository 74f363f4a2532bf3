"""The question log in a browser: Datasette, read-only, arbitrary SQL off, canned queries for staff.

Datasette is a real, maintained tool for exactly this (browsing SQLite), so the project keeps only
its configuration: which pages exist and how they are described in plain words.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

QUERIES: dict[str, dict] = {
    "recent_questions": {
        "title": "Recent questions",
        "description": "The latest 200 questions, newest first: what was asked, whether the documents answered it, "
        "the answer given and the feedback (1 = 👍, -1 = 👎).",
        "sql": """SELECT id, asked_at, channel, language, question,
       CASE answered WHEN 1 THEN 'yes' ELSE 'no' END AS answered,
       answer, feedback, latency_ms, small_talk
FROM questions ORDER BY asked_at DESC, id DESC LIMIT 200""",
    },
    "unanswered": {
        "title": "Unanswered questions",
        "description": "Questions the documents did not answer, newest first. These are the gaps to fill: "
        "add a document that answers them.",
        "sql": """SELECT q.id, q.asked_at, q.channel, q.language, q.question, g.label AS topic
FROM questions q LEFT JOIN gap_topics g ON g.question_id = q.id
WHERE q.answered = 0 AND q.small_talk IS NULL ORDER BY q.asked_at DESC, q.id DESC LIMIT 500""",
    },
    "negative_feedback": {
        "title": "Answers marked 👎",
        "description": "Answers an investor found unhelpful: check whether the document is wrong, outdated, "
        "or whether a better document is missing.",
        "sql": """SELECT id, asked_at, language, question, answer, feedback_at
FROM questions WHERE feedback = -1 ORDER BY feedback_at DESC, id DESC""",
    },
    "gaps_by_topic": {
        "title": "Gaps by topic",
        "description": "Unanswered questions grouped by what they are about, most frequent first "
        "(as of the last `investbot review` or `investbot stats`).",
        "sql": """SELECT g.label AS topic, COUNT(*) AS questions,
       MIN(q.asked_at) AS first_asked, MAX(q.asked_at) AS last_asked,
       (SELECT q2.question FROM gap_topics g2 JOIN questions q2 ON q2.id = g2.question_id
        WHERE g2.topic = g.topic ORDER BY q2.asked_at DESC LIMIT 1) AS latest_question
FROM gap_topics g JOIN questions q ON q.id = g.question_id
GROUP BY g.topic ORDER BY questions DESC, last_asked DESC""",
    },
    "most_cited_documents": {
        "title": "Most cited documents",
        "description": "Which documents answers come from most often.",
        "sql": """SELECT d.id, d.title, d.date, COUNT(*) AS citations
FROM questions q, json_each(q.doc_ids) j JOIN documents d ON d.id = j.value
GROUP BY d.id ORDER BY citations DESC, d.id""",
    },
    "questions_per_day": {
        "title": "Questions per day",
        "description": "How many questions came each day, how many were answered, and the feedback.",
        "sql": """SELECT date(asked_at) AS day, COUNT(*) AS questions, SUM(answered) AS answered,
       ROUND(100.0 * SUM(answered) / COUNT(*), 1) AS answer_rate_percent,
       SUM(feedback = 1) AS thumbs_up, SUM(feedback = -1) AS thumbs_down
FROM questions WHERE small_talk IS NULL GROUP BY day ORDER BY day DESC""",
    },
    "escalated_questions": {
        "title": "Escalated questions",
        "description": "Questions the documents did not answer and investors sent on to the agency, newest first: "
        "when asked, when sent to staff, how many investors wait(ed), when staff answered and how long it took, "
        "and the agency answer's document once it was added to the knowledge base.",
        "sql": """WITH e AS (
  SELECT *, CAST(ROUND((julianday(answered_at) - julianday(escalated_at)) * 1440) AS INTEGER) AS minutes
  FROM escalations)
SELECT e.id, e.question, e.language, e.asked_at AS asked, e.escalated_at AS escalated,
       e.askers AS investors, e.status, e.answered_at AS answered_by_staff,
       CASE WHEN e.minutes IS NOT NULL THEN printf('%d h %02d min', e.minutes / 60, e.minutes % 60) END
         AS time_to_answer,
       e.delivered, e.answer, d.id AS knowledge_document
FROM e LEFT JOIN documents d ON d.source = 'agency-answer:' || e.id
ORDER BY e.escalated_at DESC, e.id DESC""",
    },
}

# Tables no page may show: who waits for an answer, with the chat id the answer goes to.
DENIED_TABLES = ("escalation_askers",)

# Internal tables staff need not see (search index internals, vectors).
HIDDEN_TABLES = (
    "chunks_fts",
    "chunks_fts_config",
    "chunks_fts_content",
    "chunks_fts_data",
    "chunks_fts_docsize",
    "chunks_fts_idx",
    "chunks_fts_vocab",
    "vectors",
    "doc_lines",
    "meta",
    "migrations",
    "_migrations",
    "escalation_messages",
)


def metadata(database_name: str) -> dict:
    return {
        "title": "InvestBot — question log",
        "description": "What investors asked, what the documents answered, and what they did not. "
        "Start with the pages under Queries.",
        "allow_sql": False,
        "databases": {
            database_name: {
                "queries": QUERIES,
                "tables": {
                    **{name: {"hidden": True} for name in HIDDEN_TABLES},
                    **{name: {"hidden": True, "allow": False} for name in DENIED_TABLES},
                },
            }
        },
    }


def datasette_command(db_path: Path, port: int, metadata_path: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        str(db_path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--metadata",
        str(metadata_path),
        "--setting",
        "default_allow_sql",
        "off",
    ]


def start_review(db_path: Path, port: int, workdir: Path) -> subprocess.Popen:
    """Start Datasette in the background (tests, and `serve_review` below)."""
    meta_path = Path(workdir) / "datasette-metadata.json"
    meta_path.write_text(json.dumps(metadata(Path(db_path).stem), ensure_ascii=False, indent=2), encoding="utf-8")
    return subprocess.Popen(datasette_command(Path(db_path), port, meta_path))


class _Stop(Exception):
    """SIGTERM arrived: stop Datasette as Ctrl-C would."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Stop


def serve_review(db_path: Path, port: int) -> int:
    """Run Datasette in the foreground until it exits (its status), or until Ctrl-C or SIGTERM (0): then
    Datasette is stopped too, so the port is free when this returns."""
    with tempfile.TemporaryDirectory(prefix="investbot-review-") as tmp:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
        process = start_review(db_path, port, Path(tmp))
        try:
            return process.wait()
        except (KeyboardInterrupt, _Stop):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            return 0
        finally:
            signal.signal(signal.SIGTERM, previous)
