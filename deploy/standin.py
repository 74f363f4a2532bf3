"""The image's end-to-end check: the bot in a container against the Bot API stand-in (tests/botapi.py) on 127.0.0.1.

deploy/check_image.sh runs it; it owns the timing of one container's life, so that every figure is measured the
same way: the stand-in starts, `--run` starts the container (its `{base_url}` replaced by the stand-in's address,
for TELEGRAM_API_BASE_URL), one question in Russian and one in English go in as updates at once (as users who write
while the bot starts), and the script waits for both complete answers (the last message of an answer carries the
feedback buttons). Then, with the stand-in still answering, `--health` is polled until it prints healthy or
unhealthy, and `--stop` is timed. A JSON report goes to `--out`; the exit status is 0 when both answers came and
name the right fact and source.

Stdlib only (and tests/botapi.py, which is stdlib only): it runs with any python3, outside the project's venv.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.botapi import BotAPIStandIn

# (user id, Telegram language code, question); a right answer names FACT and cites SOURCE
QUESTIONS = (
    (2, "ru", "Сколько индустриальных парков в Калужской области?"),
    (1, "en", "How many industrial parks are in Kaluga Region?"),
)
FACT = "10 industrial parks"
SOURCE = "Kaluga Region at the VIth Forum of Russian Regions"  # sources are named by title, never by file


@dataclass
class Reply:
    language: str
    question: str
    seconds_after_run: float | None = None  # docker run started -> the answer's last message sent
    first_line: str = ""
    messages: int = 0
    ok: bool = False
    problem: str = ""


@dataclass
class Report:
    run_seconds: float = 0.0  # how long `docker run -d` itself took
    first_poll_after_run: float | None = None  # docker run started -> the bot's first getUpdates
    first_answer_after_run: float | None = None  # docker run started -> the first complete answer
    replies: list[Reply] = field(default_factory=list)
    health: str = ""
    health_after_run: float | None = None
    stop_seconds: float | None = None
    stop_output: str = ""
    token_seen_in_messages: bool = False
    ok: bool = False


def complete(api: BotAPIStandIn, chat_id: int) -> list[dict] | None:
    """The bot's messages to chat_id once an answer is complete (a message with buttons), else None."""
    sent = api.sent(chat_id)
    return sent if any("reply_markup" in m for m in sent) else None


def judge(reply: Reply, messages: list[dict]) -> None:
    whole = "\n".join(m["text"] for m in messages)
    reply.messages = len(messages)
    reply.first_line = messages[0]["text"].splitlines()[0][:200] if messages else ""
    problems = [f"no {what!r}" for what in (FACT, SOURCE) if what not in whole]
    reply.ok = not problems
    reply.problem = "; ".join(problems)


def run(args: argparse.Namespace) -> Report:
    report = Report()
    api = BotAPIStandIn(args.token).start()
    try:

        def fill(command: str) -> list[str]:
            return shlex.split(command.replace("{base_url}", api.base_url))

        started = time.monotonic()
        subprocess.run(fill(args.run), check=True, stdout=subprocess.DEVNULL)
        report.run_seconds = round(time.monotonic() - started, 2)
        for user_id, language, question in QUESTIONS:
            api.send_text(user_id, question, language_code=language)
            report.replies.append(Reply(language, question))

        deadline = started + args.timeout
        pending = {user_id: reply for (user_id, _, _), reply in zip(QUESTIONS, report.replies, strict=True)}
        while pending and time.monotonic() < deadline:
            if report.first_poll_after_run is None and api.calls_of("getUpdates"):
                report.first_poll_after_run = round(time.monotonic() - started, 2)
            for user_id, reply in list(pending.items()):
                messages = complete(api, user_id)
                if messages:
                    reply.seconds_after_run = round(time.monotonic() - started, 2)
                    judge(reply, messages)
                    del pending[user_id]
            time.sleep(0.05)
        for user_id, reply in pending.items():
            judge(reply, api.sent(user_id))
            reply.problem = f"no complete answer within {args.timeout:.0f} s; " + reply.problem
        answered = [r.seconds_after_run for r in report.replies if r.seconds_after_run is not None]
        report.first_answer_after_run = min(answered) if answered else None
        report.token_seen_in_messages = any(args.token in m.get("text", "") for m in api.sent())

        if args.health:
            while time.monotonic() < started + args.health_timeout:
                status = subprocess.run(fill(args.health), capture_output=True, text=True).stdout.strip()
                if status in ("healthy", "unhealthy"):
                    report.health = status
                    report.health_after_run = round(time.monotonic() - started, 2)
                    break
                report.health = status or "no status"
                time.sleep(1)

        if args.stop:
            stopping = time.monotonic()
            done = subprocess.run(fill(args.stop), capture_output=True, text=True)
            report.stop_seconds = round(time.monotonic() - stopping, 2)
            report.stop_output = (done.stdout + done.stderr).strip()[-300:]
    finally:
        api.stop()
    report.ok = all(r.ok for r in report.replies) and not report.token_seen_in_messages
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--token", required=True, help="the bot token the container gets (any 123:abc will do)")
    parser.add_argument("--run", required=True, help="the command that starts the container ({base_url} filled in)")
    parser.add_argument("--health", default="", help="a command printing the container's health status")
    parser.add_argument("--stop", default="", help="the command that stops the container (timed)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for both answers")
    parser.add_argument("--health-timeout", type=float, default=300.0, help="seconds after run to wait for health")
    parser.add_argument("--out", type=Path, required=True, help="where the JSON report goes")
    args = parser.parse_args(argv)
    report = run(args)
    args.out.write_text(json.dumps(asdict(report), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(asdict(report), ensure_ascii=False, indent=2))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
