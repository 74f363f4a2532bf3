"""The `investbot` commands over the question log: questions, answers, stats, review."""

from __future__ import annotations

import json
import sys

import click

from bot.cli.context import Context, pass_ctx


@click.command()
@click.option("--unanswered", is_flag=True, help="Only questions the documents did not answer.")
@click.option("--negative", is_flag=True, help="Only answers that got 👎.")
@click.option("--escalated", is_flag=True, help="Only questions investors sent on to agency staff.")
@click.option("--since", default=None, help="A duration (7d, 24h, 2w) or a date (2026-11-01).")
@click.option("--limit", type=click.IntRange(1), default=None, help="At most N questions (newest first).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="csv is UTF-8 with BOM, so Excel shows Russian correctly.",
)
@pass_ctx
def questions(
    ctx: Context, unanswered: bool, negative: bool, escalated: bool, since: str | None, limit: int | None, fmt: str
) -> None:
    """The question log: what was asked and what was answered."""
    from bot.questions.review import format_questions

    log = ctx.question_log()
    if escalated:  # unanswered by the documents, all of them; 👎 is for answers, so none
        rows = [] if negative else ctx.escalations(log).escalated_questions(since=_since(since), limit=limit)
    else:
        rows = log.questions(since=_since(since), unanswered=unanswered, negative=negative, limit=limit)
    output = format_questions(rows, fmt)
    if fmt == "csv":
        sys.stdout.buffer.write(output.encode("utf-8"))  # keep the BOM and CRLF exactly
    else:
        click.echo(output)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON array of agency answers.")
@pass_ctx
def answers(ctx: Context, as_json: bool) -> None:
    """List the agency answers: staff answers to investors' questions, kept in the knowledge base.

    Remove one with `investbot remove ID`."""
    rows = ctx.escalations().agency_answers()
    if as_json:
        click.echo(json.dumps([a.to_dict() for a in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("No agency answers yet: staff add them in Telegram with “Add to knowledge” after answering.")
        return
    for a in rows:
        click.echo(f"{a.doc_id:>4}  {a.date or '—':<10}  {a.language}  {a.title}")
        if a.answer:
            click.echo(f"      {' '.join(a.answer.split())}")


@click.command()
@click.option("--since", default="30d", show_default=True, help="A duration (7d, 24h, 2w) or a date (2026-11-01).")
@pass_ctx
def stats(ctx: Context, since: str) -> None:
    """Questions per day, answer rate, feedback, most cited documents, and the gaps by topic."""
    from bot.questions.review import format_stats

    log = ctx.question_log()
    cutoff = _since(since)
    topics = log.refresh_gaps(cutoff)
    click.echo(format_stats(log.stats(cutoff), topics, f"since {cutoff[:10]}" if cutoff else "in total"))


@click.command()
@click.option("--port", default=8001, show_default=True, type=click.IntRange(1, 65535))
@pass_ctx
def review(ctx: Context, port: int) -> None:
    """Browse the question log in Datasette (read-only, on 127.0.0.1, canned queries only)."""
    from bot.questions.datasette import serve_review

    log = ctx.question_log()
    ctx.escalations(log)  # every migration set's tables exist, so every canned query works on any store
    log.refresh_gaps()
    click.echo(f"Question log review: http://127.0.0.1:{port}/ (Ctrl-C or SIGTERM stops it)", err=True)
    sys.exit(serve_review(log.store.path, port))


def _since(value: str | None) -> str | None:
    from bot.questions.review import SinceError, parse_since

    try:
        return parse_since(value)
    except SinceError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
