"""The question log and staff review: logging, hashing, filters, formats, retention, gaps, Datasette."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import signal
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from bot.questions.datasette import QUERIES, start_review
from bot.questions.gaps import group_questions
from bot.questions.log import QuestionLog
from bot.questions.review import SinceError, format_questions, format_stats, parse_since
from index.results import Answer
from tests.conftest import ADMIN_ID, KNOWLEDGE, TOKEN

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("7d", "2026-11-15T12:00:00+00:00"),
        ("24h", "2026-11-21T12:00:00+00:00"),
        ("2w", "2026-11-08T12:00:00+00:00"),
        ("2026-11-01", "2026-11-01T00:00:00+00:00"),
        (None, None),
        ("", None),
    ],
    ids=["days", "hours", "weeks", "date", "none", "empty"],
)
def test_parse_since(value, expected):
    assert parse_since(value, NOW) == expected


@pytest.mark.parametrize(
    "value", ["yesterday", "7", "2026-13-01", "-3d"], ids=["word", "no-unit", "bad-date", "negative"]
)
def test_parse_since_rejects_with_the_valid_forms(value):
    with pytest.raises(SinceError, match=r"7d, 24h, 2w .* 2026-11-01"):
        parse_since(value, NOW)


@pytest.mark.parametrize(
    "questions, expected_groups",
    [
        (
            [
                "What is the electricity tariff for industrial parks?",
                "Electricity tariffs in Kaluga Region?",
                "Какие тарифы на электроэнергию?",
            ],
            [[0, 1, 2]],
        ),
        (
            ["What land prices are in Vorsino?", "Land price per hectare in Vorsino park", "How do I bake a cake?"],
            [[0, 1], [2]],
        ),
        (
            [
                "Electricity tariff?",
                "Land price in Vorsino?",
                "Electricity tariffs for plants?",
                "Vorsino land cost?",
                "Electricity tariff in Kaluga?",
            ],
            [[0, 2, 4], [1, 3]],
        ),
        (["What?", "How many?"], [[0, 1]]),  # no content words at all: one bucket, not an error
        ([], []),
    ],
    ids=["cross-language", "two-topics-and-noise", "interleaved", "no-content-words", "empty"],
)
def test_group_questions(questions, expected_groups):
    topics = group_questions(list(enumerate(questions)))
    assert [sorted(t.question_ids) for t in topics] == expected_groups
    for t in topics:
        assert t.example in [questions[i] for i in t.question_ids] and t.label


def test_gap_label_names_the_topic():
    topics = group_questions(
        list(enumerate(["Electricity tariff?", "Electricity tariffs for plants?", "Tariff on electricity"]))
    )
    assert set(topics[0].label.split(", ")[:2]) == {"electricity", "tariff"}


def _log(log: QuestionLog, question, answered, *, days_ago=0, user=None, feedback=None, channel="telegram", now=NOW):
    answer = Answer(
        question,
        "ru" if any("а" <= c <= "я" for c in question.lower()) else "en",
        answered,
        "An answer." if answered else "",
        [],
        0.8 if answered else 0.1,
    )
    qid = log.record(answer, channel=channel, latency_ms=5, user_id=user, chat_type="private")
    asked = (now - dt.timedelta(days=days_ago)).isoformat()
    log.store.db.execute("UPDATE questions SET asked_at = ? WHERE id = ?", [asked, qid])
    if feedback:
        log.set_feedback(qid, feedback)
    return qid


@pytest.fixture
def log(store):
    return QuestionLog(store, "salt")


@pytest.fixture
def logged(log):
    _log(log, "How many industrial parks does Kaluga Region have?", True, days_ago=0, user=5, feedback=1)
    _log(log, "What is the electricity tariff?", False, days_ago=1, user=6)
    _log(log, "Какие тарифы на электроэнергию?", False, days_ago=2, user=7)
    _log(log, "Who is the governor?", True, days_ago=3, user=8, feedback=-1)
    _log(log, "Old question about land", False, days_ago=40, user=9)
    return log


def test_filters(logged):
    since = parse_since("7d", NOW)
    assert len(logged.questions(since=since)) == 4
    assert [r["question"] for r in logged.questions(unanswered=True, since=since)] == [
        "What is the electricity tariff?",
        "Какие тарифы на электроэнергию?",
    ]
    assert [r["question"] for r in logged.questions(negative=True)] == ["Who is the governor?"]
    assert len(logged.questions(limit=2)) == 2


def test_csv_opens_in_excel_with_russian(logged):
    output = format_questions(logged.questions(), "csv")
    assert output.startswith("\ufeff") and "\r\n" in output
    rows = list(csv.DictReader(io.StringIO(output.lstrip("\ufeff"))))
    assert "Какие тарифы на электроэнергию?" in [r["question"] for r in rows]
    assert set(rows[0]) >= {"asked_at", "channel", "language", "answered", "feedback", "question", "answer"}


def test_json_and_table(logged):
    data = json.loads(format_questions(logged.questions(), "json"))
    assert data[0]["answered"] is True and isinstance(data[0]["doc_ids"], list)
    table = format_questions(logged.questions(), "table")
    assert "✓ 👍" in table and "✗" in table
    with pytest.raises(ValueError, match="choose from: table, csv, json"):
        format_questions([], "xml")


def test_retention_purges_old_entries(store, log):
    _log(log, "recent", True, days_ago=1)
    _log(log, "old", True, days_ago=40)
    kept_30_days = QuestionLog(store, "salt", retention_days=30)
    assert kept_30_days.purge(now=NOW) == 1
    assert [r["question"] for r in log.questions()] == ["recent"]
    assert log.purge(now=NOW) == 0  # no retention set: nothing goes


def test_stats_and_gaps(logged):
    topics = logged.refresh_gaps(parse_since("7d", NOW))
    assert [t.size for t in topics] == [2]  # the two tariff questions, in two languages
    stats = logged.stats(parse_since("7d", NOW))
    assert stats.questions == 4 and stats.answered == 2 and stats.answer_rate == 0.5
    assert stats.positive == 1 and stats.negative == 1
    assert len(stats.per_day) == 4
    stored = logged.store.db.execute("SELECT COUNT(*), COUNT(DISTINCT topic) FROM gap_topics").fetchone()
    assert stored == (2, 1)


@pytest.mark.parametrize(
    "language, expected",
    [
        ("en", ["Questions in the last 7 days: 4", "Answered: 2 (50%)", "2 questions about"]),
        ("ru", ["Вопросов за последние 7 дней: 4", "С ответом: 2 (50%)", "2 вопроса на тему"]),
    ],
    ids=["english", "russian"],
)
def test_stats_report_in_the_reader_language(logged, language, expected):
    from bot.messages import text

    since = parse_since("7d", NOW)
    report = format_stats(logged.stats(since), logged.refresh_gaps(since), text("last_7_days", language), language)
    for line in expected:
        assert line in report


# --- the CLI -------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(data_dir, monkeypatch):
    monkeypatch.setenv("INVESTBOT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("INVESTBOT_MODEL", "none")
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", str(KNOWLEDGE)]).exit_code == 0
    return runner


def test_ask_and_chat_are_logged_unless_no_log(cli_env):
    cli_env.invoke(cli, ["ask", "How many industrial parks does Kaluga Region have?"])
    cli_env.invoke(cli, ["ask", "How do I bake a chocolate cake?", "--no-log"])
    cli_env.invoke(cli, ["chat"], input="Какие тарифы на электроэнергию?\n")
    cli_env.invoke(cli, ["chat", "--no-log"], input="Secret question\n")
    result = cli_env.invoke(cli, ["questions", "--format", "json"])
    rows = json.loads(result.stdout)
    assert [r["question"] for r in rows] == [
        "Какие тарифы на электроэнергию?",
        "How many industrial parks does Kaluga Region have?",
    ]
    assert {r["channel"] for r in rows} == {"cli"} and rows[1]["answered"] and rows[1]["doc_ids"]


def test_questions_and_stats_commands(cli_env):
    for q in (
        "What is the electricity tariff?",
        "Electricity tariffs for plants?",
        "How many industrial parks does Kaluga Region have?",
    ):
        cli_env.invoke(cli, ["ask", q])
    unanswered = cli_env.invoke(cli, ["questions", "--unanswered", "--since", "1d", "--limit", "5"]).stdout
    assert "electricity tariff" in unanswered and "industrial parks" not in unanswered
    stats = cli_env.invoke(cli, ["stats", "--since", "7d"]).stdout
    assert "Questions since" in stats and "Answered: 1 (33%)" in stats
    assert "2 questions about" in stats and "electricity" in stats
    bad = cli_env.invoke(cli, ["questions", "--since", "last week"])
    assert bad.exit_code != 0 and "7d, 24h, 2w" in bad.output
    csv_out = cli_env.invoke(cli, ["questions", "--format", "csv"]).stdout_bytes
    assert csv_out.startswith(b"\xef\xbb\xbf")


# --- Datasette -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_datasette_review_pages(logged, tmp_path):
    from index.engine import Engine, EngineConfig

    store = logged.store  # it has no documents yet: add some so "most cited" has rows
    engine = Engine.open(EngineConfig(data_dir=store.path.parent, model=None), store)
    engine.ingest([KNOWLEDGE])
    store.db.execute("UPDATE questions SET doc_ids = '[1, 2]' WHERE answered = 1")
    logged.refresh_gaps()
    port = _free_port()
    process = start_review(store.path, port, tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120  # for a server that never starts; generous for a loaded machine
        while time.monotonic() < deadline:
            try:
                if _get(f"{base}/-/versions.json")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        expected_rows = {
            "recent_questions": 5,
            "unanswered": 3,
            "negative_feedback": 1,
            "gaps_by_topic": 2,
            "most_cited_documents": 2,
            "questions_per_day": 5,
        }
        for name, rows in expected_rows.items():
            status, body = _get(f"{base}/{store.path.stem}/{name}.json?_shape=array")
            assert status == 200, name
            assert len(json.loads(body)) == rows, (name, body[:300])
            status, page = _get(f"{base}/{store.path.stem}/{name}")
            assert status == 200 and QUERIES[name]["title"].encode() in page
        gaps = json.loads(_get(f"{base}/{store.path.stem}/gaps_by_topic.json?_shape=array")[1])
        assert gaps[0]["questions"] == 2
        # Arbitrary SQL is off; so is writing.
        assert _get(f"{base}/{store.path.stem}?sql=select+*+from+questions")[0] == 403
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_review_command_reports_where(cli_env, monkeypatch):
    import bot.questions.datasette as review_module

    seen = {}
    monkeypatch.setattr(review_module, "serve_review", lambda path, port: seen.update(path=path, port=port) or 0)
    result = cli_env.invoke(cli, ["review", "--port", "8123"])
    assert result.exit_code == 0 and "http://127.0.0.1:8123/" in result.output
    assert seen["port"] == 8123 and seen["path"].name == "investbot.db"


def _wait_for(base: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            if _get(f"{base}/-/versions.json")[0] == 200:
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_review_command_serves_every_query_on_a_fresh_store_and_stops_its_datasette(data_dir, stop):
    """`investbot review` on a store where nothing was escalated: every canned page answers; SIGTERM or
    Ctrl-C ends it with status 0 and its Datasette with it (the port is free afterwards)."""
    import os
    import subprocess
    import sys

    port = _free_port()
    env = {**os.environ, "INVESTBOT_DATA_DIR": str(data_dir), "INVESTBOT_MODEL": "none"}
    command = [sys.executable, "-c", "from bot.cli.main import main; main()", "review", "--port", str(port)]
    process = subprocess.Popen(command, env=env, cwd=Path(__file__).resolve().parent.parent)
    try:
        base = f"http://127.0.0.1:{port}"
        assert _wait_for(base, time.monotonic() + 120), "Datasette never started"  # generous: a loaded machine
        for name in QUERIES:
            status, body = _get(f"{base}/investbot/{name}.json?_shape=array")
            assert status == 200, (name, body[:300])
        process.send_signal(stop)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    with socket.socket() as s:
        # Free: Datasette went with it. SO_REUSEADDR lets closed connections' TIME_WAIT be, as any server does;
        # a port still listened on refuses the bind all the same.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()


# --- Telegram admin commands and the digest ------------------------------------------------------


def test_admin_stats_unanswered_and_refusals(botapi, bot_app):
    from tests.test_bot import running

    async def scenario():
        async with running(bot_app):
            botapi.send_text(1001, "What is the electricity tariff?")
            botapi.send_text(1002, "Какие тарифы на электроэнергию?", language_code="ru")
            await botapi.until(lambda: botapi.sent(1001) and botapi.sent(1002))
            botapi.send_text(1001, "/stats")
            botapi.send_text(1001, "/unanswered")
            await botapi.until(lambda: len(botapi.sent(1001)) == 3)
            botapi.send_text(ADMIN_ID, "/stats")
            await botapi.until(lambda: botapi.sent(ADMIN_ID))
            botapi.send_text(ADMIN_ID, "/unanswered")
            await botapi.until(lambda: len(botapi.sent(ADMIN_ID)) == 2)

    asyncio.run(scenario())
    refusals = [m["text"] for m in botapi.sent(1001)[1:]]
    assert all("only agency staff" in t for t in refusals)
    stats, unanswered = (m["text"] for m in botapi.sent(ADMIN_ID))
    assert "Questions in the last 7 days: 2" in stats and "2 questions about" in stats
    assert "Latest unanswered questions:" in unanswered and "Какие тарифы на электроэнергию?" in unanswered
    assert "2 × " in unanswered


def test_daily_digest_goes_to_admins(botapi, bot_app):
    from bot.telegram.jobs import send_digest
    from tests.test_bot import running

    questions = bot_app.bot_data.questions
    now = dt.datetime.now(dt.UTC)
    _log(questions, "What is the electricity tariff?", False, now=now)
    _log(questions, "Who is the governor?", True, feedback=-1, now=now)
    jobs = [j.name for j in bot_app.job_queue.jobs()]
    assert "daily-digest" in jobs

    async def scenario():
        async with running(bot_app):
            bot_app.job_queue.run_once(send_digest, 0)
            await botapi.until(lambda: botapi.sent(ADMIN_ID), what="the digest")

    asyncio.run(scenario())
    digest = botapi.sent(ADMIN_ID)[0]["text"]
    assert "the last 24 hours: 2 questions, 1 answered (50%)" in digest
    assert "New gaps" in digest and "electricity" in digest
    assert "Answers marked 👎" in digest and "Who is the governor?" in digest


def test_raw_telegram_ids_never_stored(botapi, bot_app):
    from tests.test_bot import running

    user_id = 987654321

    async def scenario():
        async with running(bot_app):
            botapi.send_text(user_id, "How many industrial parks does Kaluga Region have?")
            await botapi.until(lambda: [m for m in botapi.sent(user_id) if "reply_markup" in m])

    asyncio.run(scenario())
    store = bot_app.bot_data.engine.store
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = store.path.read_bytes()
    assert str(user_id).encode() not in raw and f"User{user_id}".encode() not in raw
    assert TOKEN.encode() not in raw
    row = bot_app.bot_data.questions.questions()[0]
    assert row["user_hash"] and str(user_id) not in row["user_hash"]


@pytest.mark.parametrize(
    "language, expected",
    [
        (
            "en",
            [
                "InvestBot — the last 24 hours: 3 questions, 1 answered (33%)",
                "Feedback: 👍 0  👎 1",
                "New gaps (unanswered, by topic):",
                "2 × ",
                "Answers marked 👎:\n• Who is the governor? → An answer.",
            ],
        ),
        (
            "ru",
            [
                "InvestBot — за последние 24 часа: 3 вопроса, с ответом 1 (33%)",
                "Отзывы: 👍 0  👎 1",
                "Новые пробелы (без ответа, по темам):",
                "2 × ",
                "Ответы с оценкой 👎:\n• Who is the governor? → An answer.",
            ],
        ),
    ],
    ids=["english", "russian"],
)
def test_digest_text(log, language, expected):
    from bot.telegram.jobs import digest_text

    _log(log, "What is the electricity tariff?", False)
    _log(log, "Какие тарифы на электроэнергию?", False)
    _log(log, "Who is the governor?", True, feedback=-1)
    _log(log, "Old question about land", False, days_ago=2)  # older than a day: not in the digest
    digest = digest_text(log, language, now=NOW)
    for line in expected:
        assert line in digest
    assert "land" not in digest


def test_digest_job_applies_retention(botapi, bot_app):
    """The digest job purges expired questions (in a worker thread) before it reports."""
    from bot.telegram.jobs import send_digest
    from tests.test_bot import running

    questions = bot_app.bot_data.questions
    questions.retention_days = 30
    now = dt.datetime.now(dt.UTC)
    _log(questions, "Old question about land", False, days_ago=40, now=now)
    _log(questions, "What is the electricity tariff?", False, now=now)

    async def scenario():
        async with running(bot_app):
            bot_app.job_queue.run_once(send_digest, 0)
            await botapi.until(lambda: botapi.sent(ADMIN_ID), what="the digest")

    asyncio.run(scenario())
    assert [r["question"] for r in questions.questions()] == ["What is the electricity tariff?"]
