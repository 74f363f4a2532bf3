"""Generated answers through the command line (bot/answering.py, `investbot ask/stats/eval --llm`), against the
stand-in OpenAI-compatible server (tests/llmserver.py) on 127.0.0.1: a Russian answer over the English seeds, a
hallucinated number never shown, a silent server costing only the timeout, uncovered questions never sent, the
daily budget kept across runs, and nothing changed without a model."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from bot.questions.log import percentile
from bot.settings import Settings, SettingsError
from tests.conftest import KNOWLEDGE
from tests.llmserver import LLMServer, completion, status

KALUGA_RU = "Сколько индустриальных парков в Калужской области?"
KALUGA_TITLE = "Kaluga Region at the VIth Forum of Russian Regions: import substitution and industrial parks"
GROUNDED_RU = "В Калужской области 10 индустриальных парков, в которых реализуются 89 высокотехнологичных проектов [1]."
HALLUCINATED_RU = "В Калужской области 12 индустриальных парков [1]."
USAGE = {"prompt_tokens": 900, "completion_tokens": 40, "total_tokens": 940}
TIMEOUT_S = 1.0
BOUND_S = 20.0  # what a silent server may cost on a loaded machine: the timeout, the engine and start-up; a bound


@pytest.fixture
def server():
    with LLMServer() as s:
        yield s


@pytest.fixture
def run(data_dir: Path, monkeypatch):
    for name in ("INVESTBOT_LLM_URL", "INVESTBOT_LLM_MODEL", "INVESTBOT_LLM_API_KEY", "INVESTBOT_LLM_DAILY_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INVESTBOT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("INVESTBOT_MODEL", "none")
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    assert invoke("ingest", str(KNOWLEDGE)).exit_code == 0
    return invoke


@pytest.fixture
def with_model(run, server, monkeypatch):
    monkeypatch.setenv("INVESTBOT_LLM_URL", server.url)
    monkeypatch.setenv("INVESTBOT_LLM_MODEL", "test-model")
    monkeypatch.setenv("INVESTBOT_LLM_API_KEY", "sk-secret-key")
    monkeypatch.setenv("INVESTBOT_LLM_TIMEOUT", str(TIMEOUT_S))
    return run


def ask_json(run, question: str) -> dict:
    result = run("ask", "--json", question)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def last_logged(run) -> dict:
    return json.loads(run("questions", "--format", "json", "--limit", "1").stdout)[0]


def test_without_a_model_nothing_changes(run, server):
    result = run("ask", "--json", KALUGA_RU)
    data = json.loads(result.stdout)
    assert data["answer_source"] == "extract" and "llm" not in data
    assert data["answer"].startswith("There are 10 industrial parks in the region")
    assert "Language model" not in result.stderr
    assert server.requests == []


def test_russian_question_over_english_seeds_gets_a_russian_answer_citing_its_passage(with_model, server):
    server.script(completion(GROUNDED_RU, usage=USAGE))
    result = with_model("ask", "--json", KALUGA_RU)
    assert f"Language model: test-model at {server.url}" in result.stderr
    assert "sk-secret-key" not in result.output
    data = json.loads(result.stdout)
    assert data["answer_source"] == "llm"
    assert data["answer"] == GROUNDED_RU.replace(" [1]", "")
    assert data["language"] == "ru"
    assert [p["title"] for p in data["passages"]] == [KALUGA_TITLE]  # the cited passage, as the source
    llm = data["llm"]
    assert (llm["model"], llm["prompt_tokens"], llm["completion_tokens"], llm["rejected"]) == (
        "stand-in-1",
        900,
        40,
        None,
    )
    assert llm["latency_ms"] >= 0
    # What the model was sent: the question, the passages with title and date; the key only as a header.
    (request,) = server.requests
    prompt = "\n".join(m["content"] for m in request.body["messages"])
    assert KALUGA_RU in prompt and "There are 10 industrial parks" in prompt and "Date: 2014-04-08" in prompt
    assert request.headers["authorization"] == "Bearer sk-secret-key"
    assert "/work" not in prompt and ".md" not in prompt  # no server paths or file names
    row = last_logged(with_model)
    assert (row["answer_source"], row["llm_model"], row["llm_rejected"]) == ("llm", "stand-in-1", None)
    assert row["answer"] == data["answer"]


def test_a_hallucinated_number_is_never_shown(with_model, server):
    server.script(completion(HALLUCINATED_RU, usage=USAGE))
    data = ask_json(with_model, KALUGA_RU)
    assert data["answer_source"] == "extract"
    assert "12" not in data["answer"] and data["answer"].startswith("There are 10 industrial parks")
    assert data["llm"]["rejected"] == "unsupported_number"
    row = last_logged(with_model)
    assert (row["answer_source"], row["llm_rejected"]) == ("extract", "unsupported_number")
    text_result = with_model("ask", KALUGA_RU)  # the terminal shows the extract too
    assert "12 индустриальных" not in text_result.stdout


def test_a_server_that_does_not_answer_costs_only_the_timeout(with_model, server):
    server.script(completion(GROUNDED_RU, delay=120))
    started = time.monotonic()
    data = ask_json(with_model, KALUGA_RU)
    elapsed = time.monotonic() - started
    assert data["answer_source"] == "extract" and data["llm"]["rejected"] == "timeout"
    assert elapsed < TIMEOUT_S + BOUND_S


def test_server_errors_after_the_retry_fall_back_to_the_extract(with_model, server):
    server.script(status(500), status(500))
    data = ask_json(with_model, KALUGA_RU)
    assert (data["answer_source"], data["llm"]["rejected"]) == ("extract", "http_error")
    assert len(server.requests) == 2  # one retry, no more


@pytest.mark.parametrize(
    "question",
    [
        pytest.param("How do I bake a chocolate cake?", id="uncovered"),
        pytest.param("Привет!", id="small-talk"),
    ],
)
def test_a_question_the_documents_do_not_cover_never_reaches_the_model(with_model, server, question):
    data = ask_json(with_model, question)
    assert (data["answered"], data["answer_source"], data["llm"]) == (False, "extract", None)
    assert server.requests == []
    assert last_logged(with_model)["llm_model"] is None


def test_the_daily_budget_survives_a_restart_and_stops_the_calls(with_model, server, monkeypatch):
    monkeypatch.setenv("INVESTBOT_LLM_DAILY_TOKENS", "500")
    server.script(completion(GROUNDED_RU, usage=USAGE))
    assert ask_json(with_model, KALUGA_RU)["answer_source"] == "llm"  # 940 tokens: today's 500 are spent
    again = ask_json(with_model, KALUGA_RU)  # a new process: the count is in the database
    assert (again["answer_source"], again["llm"]["rejected"]) == ("extract", "budget")
    assert len(server.requests) == 1


def test_stats_show_the_models_share_rejections_and_latency(with_model, server):
    server.script(
        completion(GROUNDED_RU, usage=USAGE), completion(HALLUCINATED_RU, usage=USAGE), completion("NOT_COVERED")
    )
    for _ in range(3):
        ask_json(with_model, KALUGA_RU)
    ask_json(with_model, "How do I bake a chocolate cake?")  # never asked: not in the model's figures
    out = with_model("stats").stdout
    assert "Written by the language model: 1 of 3 answers it was asked for (33%)" in out
    assert "Model answers replaced by the extract: not_covered 1, unsupported_number 1" in out
    assert "Language model latency: p50 " in out and " ms, p95 " in out


def test_without_model_calls_stats_say_nothing_of_a_model(run):
    run("ask", "How many industrial parks does Kaluga Region have?")
    assert "language model" not in run("stats").stdout.lower()


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [
        pytest.param([], 0.5, None, id="none"),
        pytest.param([7], 0.95, 7, id="one"),
        pytest.param([1, 2, 3, 4], 0.5, 2, id="median-even"),
        pytest.param(list(range(1, 101)), 0.95, 95, id="p95"),
    ],
)
def test_percentile(values, share, expected):
    assert percentile(values, share) == expected


# --- settings ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param({"INVESTBOT_LLM_URL": "http://127.0.0.1:11434/v1"}, "INVESTBOT_LLM_MODEL is not", id="no-model"),
        pytest.param(
            {"INVESTBOT_LLM_URL": "127.0.0.1:11434", "INVESTBOT_LLM_MODEL": "m"}, "must start with http", id="no-scheme"
        ),
        pytest.param({"INVESTBOT_LLM_TIMEOUT": "0"}, "positive number of seconds", id="zero-timeout"),
        pytest.param({"INVESTBOT_LLM_DAILY_TOKENS": "-1"}, "0 (no limit)", id="negative-budget"),
    ],
)
def test_invalid_llm_settings_are_named(env, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(env)


def test_llm_config_only_with_a_url():
    assert Settings.from_env({}).llm_config() is None
    config = Settings.from_env(
        {
            "INVESTBOT_LLM_URL": "https://llm.api.cloud.yandex.net/v1",
            "INVESTBOT_LLM_MODEL": "gpt://b1g/yandexgpt/latest",
            "INVESTBOT_LLM_API_KEY": "AQVN-secret",
            "INVESTBOT_LLM_TIMEOUT": "15",
        }
    ).llm_config()
    assert config is not None
    assert (config.url, config.model, config.api_key, config.timeout) == (
        "https://llm.api.cloud.yandex.net/v1",
        "gpt://b1g/yandexgpt/latest",
        "AQVN-secret",
        15.0,
    )
    assert "AQVN-secret" not in repr(config)


def test_the_model_line_never_shows_credentials():
    from bot.cli.model_status import llm_line

    settings = Settings.from_env(
        {"INVESTBOT_LLM_URL": "http://user:s3cr3t@127.0.0.1:8000/v1", "INVESTBOT_LLM_MODEL": "qwen3"}
    )
    line = llm_line(settings)
    assert line is not None and line.startswith("Language model: qwen3 at http://127.0.0.1:8000/v1")
    assert "s3cr3t" not in line and "user" not in line


# --- eval --llm ----------------------------------------------------------------------------------------------------


def _xquad(folder: Path) -> Path:
    """Two paragraphs in English and Russian, one question on each, in SQuAD form."""
    texts = {
        "en": [
            ("Kaluga", "Kaluga Region has 12 industrial parks.", "How many industrial parks does Kaluga Region have?"),
            ("Ryazan", "The Ryazan association was founded in 2022.", "When was the Ryazan association founded?"),
        ],
        "ru": [
            ("Калуга", "В Калужской области 12 индустриальных парков.", "Сколько индустриальных парков в области?"),
            ("Рязань", "Рязанская ассоциация основана в 2022 году.", "Когда основана рязанская ассоциация?"),
        ],
    }
    (folder / "xquad").mkdir(parents=True)
    for lang, items in texts.items():
        data = {
            "data": [
                {
                    "title": title,
                    "paragraphs": [
                        {"context": context, "qas": [{"id": f"q{i}", "question": q, "answers": [{"text": "12"}]}]}
                    ],
                }
                for i, (title, context, q) in enumerate(items)
            ]
        }
        (folder / "xquad" / f"xquad.{lang}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return folder


def test_eval_llm_measures_language_citations_and_rejections(with_model, server, tmp_path):
    folder = _xquad(tmp_path / "eval")
    # ru→en: question 1's paragraph is passage [1], question 2's is [2] (the position rotates). The first reply is
    # grounded; the second cites the right passage with a year it does not hold.
    server.script(
        completion("В Калужской области 12 индустриальных парков [1]."),
        completion("Рязанская ассоциация основана в 2023 году [2]."),
    )
    result = with_model("eval", "--llm", "--eval-dir", str(folder), "--direction", "ru-en", "--limit", "2", "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)["directions"]["ru-en"]
    assert figures["questions"] == 2 and figures["failed_calls"] == 0
    assert figures["language_correct"] == 1.0 and figures["citations_valid"] == 1.0 and figures["grounded"] == 0.5
    assert figures["accepted"] == 0.5 and figures["rejected"] == 0.5 and figures["cites_gold"] == 1.0
    assert figures["reasons"] == {"accepted": 1, "unsupported_number": 1}
    prompt = server.requests[1].body["messages"][1]["content"]
    assert prompt.index("founded in 2022") > prompt.index("[2]")  # the gold paragraph is the second passage
    assert len(server.requests) == 2
    table = with_model("eval", "--llm", "--eval-dir", str(folder), "--direction", "en-en", "--limit", "1").stdout
    assert "Language model test-model" in table and "en-en" in table


def test_eval_llm_needs_a_model(run, tmp_path):
    result = run("eval", "--llm", "--eval-dir", str(_xquad(tmp_path / "eval")))
    assert result.exit_code != 0 and "INVESTBOT_LLM_URL" in result.output
