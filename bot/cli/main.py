"""The `investbot` command line: ingest, inspect, ask, chat, evaluate, serve, health.

Start-up failures are one line each (preflight.py); Ctrl-C and SIGTERM keep what is done and say how to
continue (stopping.py: exit status 130 / 143, 0 for the bot)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli import preflight
from bot.cli.context import Context, embed_with_progress, pass_ctx
from bot.cli.model_status import backends_report, llm_line, model_line
from bot.cli.questions import answers, questions, review, stats
from bot.cli.stopping import StopRequest, handling_signals
from bot.conversation import Conversations
from bot.messages import SMALL_TALK_REPLIES, is_one_sentence, render_text, text, with_agency_reply
from bot.settings import Settings, SettingsError
from index import classify, message_language, questions_in, resolve

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar  # what click.progressbar returns; click exports no name for it

    from bot.answering import AnswerWriter, ShownAnswer


def failure_reason(result) -> str:
    """The library says what went wrong; the setting that changes a limit the file hit is ours to name."""
    from bot.settings import with_limit_variable

    return with_limit_variable(result.reason, result.limit)


class InvestbotGroup(click.Group):
    """Ctrl-C (or a second signal) anywhere in a command: one line on what is kept, not click's "Aborted!"."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            context = ctx.find_object(Context)
            raise (context.stop if context is not None else StopRequest()).interrupted() from None


@click.group(cls=InvestbotGroup)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the store lives (env INVESTBOT_DATA_DIR, default ./data).",
)
@click.option(
    "--model", default=None, help="Embedding model name or local folder; 'none' for lexical-only (env INVESTBOT_MODEL)."
)
@click.version_option(package_name="investbot")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, model: str | None) -> None:
    """InvestBot: answers investors' questions from the agency's documents, with sources."""
    try:
        settings = Settings.from_env(data_dir=data_dir, model=model)
    except SettingsError as exc:
        raise preflight.StartupError(str(exc), exit_code=2) from None
    ctx.obj = Context(settings, ctx.with_resource(handling_signals(StopRequest())))


@cli.command()
@click.argument("inputs", nargs=-1, required=True, metavar="PATH_OR_URL...")
@click.option("--title", default=None, help="Title for the document(s), instead of the one found in the file or page.")
@pass_ctx
def ingest(ctx: Context, inputs: tuple[str, ...], title: str | None) -> None:
    """Add or update documents from files, folders (recursive) and web addresses.

    The same content again changes nothing; a changed file at the same path (or page at the same
    address) replaces its old version. A sitemap or RSS/Atom feed address ingests the pages it lists
    and is followed by `investbot refresh`. Exit status 1 if anything failed.
    """
    from bot.settings import web_failure_line
    from index import is_address, iter_files

    urls = [item for item in inputs if is_address(item)]
    paths = [Path(item) for item in inputs if not is_address(item)]
    engine = ctx.ready_engine()
    reports = []
    finished = 0

    def one_done(_item: object) -> None:
        nonlocal finished
        finished += 1
        bar.update(1)

    ctx.stop.resume = lambda: (
        f"{finished} of {len(files) + len(urls)} files and pages done (each committed whole); run the same "
        "`investbot ingest` again for the rest (what is stored already is skipped)"
    )
    files: list = []
    if paths:
        files, _ = iter_files(paths)
        with click.progressbar(length=len(files), label="Ingesting", file=sys.stderr) as bar:
            report = engine.ingest(paths, progress=one_done, overrides={"title": title}, embed=False)
        reports.append(report)
        for result in report.results:
            if result.status == "failed":
                click.echo(f"{result.path}: {failure_reason(result)}", err=True)
            elif result.status == "duplicate":
                click.echo(f"{result.path}: skipped, {result.reason}", err=True)
    if urls:
        with click.progressbar(length=len(urls), label="Fetching", file=sys.stderr) as bar:
            web = engine.ingest_urls(
                urls,
                ctx.settings.fetch_config(),
                progress=one_done,
                overrides={"title": title},
                embed=False,
            )
        reports.append(web)
        for listing in web.listings:
            click.echo(listing_line(listing, ctx.settings.max_pages))
        for result in web.results:
            if result.status == "failed":
                click.echo(web_failure_line(result), err=True)
            elif result.status == "duplicate":
                click.echo(f"{result.address}: skipped, {result.reason}", err=True)
    embed_with_progress(engine, ctx.stop)  # committed documents are searchable already; vectors follow
    statuses = ("added", "replaced", "unchanged", "duplicate", "skipped", "failed")
    counts = {s: sum(r.count(s) for r in reports) for s in statuses}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n or s in ("added", "failed"))
    click.echo(
        f"{summary}. The store holds {engine.store.document_count()} documents, {engine.store.chunk_count()} chunks."
    )
    if counts["failed"]:
        sys.exit(1)


def listing_line(listing, max_pages: int) -> str:
    """What a sitemap or feed gave: its pages, the cap when it cut the list, and that refresh follows it."""
    pages = f"{listing.taken} page" + ("" if listing.taken == 1 else "s")
    taken = f"the newest {pages} of {listing.found} (INVESTBOT_MAX_PAGES={max_pages})" if listing.truncated else pages
    return f"{listing.address}: {listing.kind.value}, {taken}; `investbot refresh` picks up its new entries."


@cli.command()
@click.option(
    "--older-than",
    "older_than",
    default=None,
    help="Only what was last fetched before this: a duration (7d, 24h, 2w) or a date (2026-11-01).",
)
@pass_ctx
def refresh(ctx: Context, older_than: str | None) -> None:
    """Re-fetch web documents and re-read followed sitemaps and feeds.

    Conditional requests (ETag / Last-Modified) where the server supports them, else the content
    hash: an unchanged page is left alone, a changed one replaced (same id), a page that now fails is
    reported and kept as it was; new entries of sitemaps and feeds are ingested. Exit status 1 if
    anything failed.
    """
    from bot.questions.review import SinceError, parse_since
    from bot.settings import web_failure_line

    try:
        cutoff = parse_since(older_than)
    except SinceError:
        raise click.BadParameter(
            f"{older_than!r} is not understood: use a duration like 7d, 24h, 2w or a date like 2026-11-01",
            param_hint="--older-than",
        ) from None
    engine = ctx.ready_engine()
    total = len(engine.store.web_documents(cutoff)) + len(engine.store.listings(cutoff))
    if not total:
        scope = f" fetched before {cutoff[:10]}" if cutoff else ""
        click.echo(f"Nothing to refresh: no web documents{scope}. Add pages with `investbot ingest URL`.")
        return
    finished = 0

    def one_done(_address: str) -> None:
        nonlocal finished
        finished += 1
        bar.update(1)

    ctx.stop.resume = lambda: (
        f"{finished} of {total} addresses refreshed (each page committed whole); run `investbot refresh` again "
        "for the rest"
    )
    with click.progressbar(length=total, label="Refreshing", file=sys.stderr) as bar:
        report = engine.refresh(ctx.settings.fetch_config(), fetched_before=cutoff, progress=one_done, embed=False)
    embed_with_progress(engine, ctx.stop)
    for result in report.results:
        if result.status == "failed":
            click.echo(web_failure_line(result), err=True)
        elif result.status == "replaced":
            click.echo(f"changed: {result.address} — {result.title}")
        elif result.status == "added":
            click.echo(f"new: {result.address} — {result.title}")
    counts = {
        "unchanged": report.count("unchanged"),
        "changed": report.count("replaced"),
        "failed": report.count("failed"),
        "new": report.count("added"),
        "duplicate": report.count("duplicate"),
    }
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n or s in ("unchanged", "changed", "failed"))
    kept = " (pages that failed keep their stored copy)" if counts["failed"] else ""
    click.echo(f"{summary}{kept}.")
    if counts["failed"]:
        sys.exit(1)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON array of documents.")
@pass_ctx
def docs(ctx: Context, as_json: bool) -> None:
    """List the documents in the store."""
    keys = ("id", "title", "date", "language", "chunks", "source", "url", "region", "format", "ingested_at")
    store = ctx.store()  # no model: listing needs none
    rows = [{k: d.to_dict()[k] for k in keys} for d in store.documents()]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("No documents yet. Add some with: investbot ingest PATH")
        return
    for d in rows:
        click.echo(f"{d['id']:>4}  {d['date'] or '—':<10}  {d['language']}  {d['chunks']:>4} chunks  {d['title']}")
        click.echo(f"      {d['url'] or d['source']}")


@cli.command()
@click.argument("id_or_source")
@pass_ctx
def remove(ctx: Context, id_or_source: str) -> None:
    """Remove a document by its id (see `investbot docs`) or its source path/URL; a sitemap or feed's
    address stops following it."""
    engine = ctx.engine()
    try:
        doc = engine.remove(id_or_source)
    except KeyError:
        if engine.unfollow(id_or_source):
            click.echo(f"Stopped following {id_or_source}: refresh no longer reads it (its pages stay).")
            return
        raise click.ClickException(
            f"no document with id or source '{id_or_source}' (see `investbot docs` for the list)"
        ) from None
    click.echo(f"Removed document {doc.id}: {doc.title} ({doc.chunks} chunks).")


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (one object per line with -).")
@click.option("-k", "k", default=3, show_default=True, type=click.IntRange(1, 20), help="Passages to show.")
@click.option("--no-log", is_flag=True, help="Do not record the question in the question log.")
@pass_ctx
def ask(ctx: Context, question: str, as_json: bool, k: int, no_log: bool) -> None:
    """Answer QUESTION from the documents; '-' reads one question per line from stdin."""
    engine = ctx.ready_engine()
    preflight.require_documents(engine.store)
    log = None if no_log else ctx.question_log(engine)
    writer = ctx.writer(engine)
    questions = (line for line in sys.stdin) if question == "-" else [question]
    for q in questions:
        if not q.strip():
            continue
        shown = answer_and_log(engine, log, q, k=k, writer=writer)
        if as_json:
            click.echo(json.dumps(shown.to_dict(with_model=writer is not None), ensure_ascii=False))
        else:
            click.echo(render_text(shown.answer))


@cli.command()
@click.option("--no-log", is_flag=True, help="Do not record the questions in the question log.")
@pass_ctx
def chat(ctx: Context, no_log: bool) -> None:
    """Ask questions in the terminal (or pipe them in, one per line)."""
    engine = ctx.ready_engine()
    preflight.require_documents(engine.store)
    run_chat(engine, None if no_log else ctx.question_log(engine), ctx.writer(engine))


def answer_and_log(engine, log, question: str, k: int = 3, writer: AnswerWriter | None = None) -> ShownAnswer:
    """The engine's answer, written by the language model when one is configured and the question is covered
    (bot/answering.py), logged with where it came from."""
    from bot.answering import shown_answer

    started = time.perf_counter()
    shown = shown_answer(writer, with_agency_reply(engine.answer(question, k=k)))
    if log is not None:
        latency_ms = int((time.perf_counter() - started) * 1000)
        log.record(shown.answer, channel="cli", latency_ms=latency_ms, generation=shown.log_columns())
    return shown


def run_chat(engine, log=None, writer: AnswerWriter | None = None) -> None:
    """The terminal chat: as in Telegram, small talk gets a reply in kind, follow-ups lean on the previous question,
    and a message with several questions gets an answer to each."""
    interactive = sys.stdin.isatty()
    turns = Conversations()  # one conversation: the terminal's
    language = "en"
    if interactive:
        click.echo(
            f"InvestBot — {engine.store.document_count()} documents. Ask a question in Russian or English; "
            "an empty line or Ctrl-D quits."
        )
    while True:
        try:
            line = input("> ") if interactive else sys.stdin.readline()
        except (EOFError, KeyboardInterrupt):
            break
        if not interactive and line == "":
            break
        question = line.strip()
        if not question:
            if interactive:
                break
            continue
        if not interactive:
            click.echo(f"> {question}")
        language = message_language(question, language)
        kind = classify(question)
        if kind is not None:  # a greeting, thanks, "?": a reply in kind, never "not found"
            click.echo(text(SMALL_TALK_REPLIES[kind], language))
            continue
        found = questions_in(question) or [question]
        if len(found) == 1 and is_one_sentence(question):
            found = [question]  # asked as it stands: "And in Tula?" keeps the "And" a follow-up leans on
        for asked in found:
            previous = turns.last(0)
            resolved = resolve(
                asked, previous.question if previous else None, list(previous.passages) if previous else None
            )
            if len(found) > 1 or resolved.rewritten:
                click.echo(text("understood_as", language, question=resolved.question))
            answer = answer_and_log(engine, log, resolved.question, writer=writer).answer
            turns.add(0, resolved.question, answer.answer if answer.answered else "", [p.text for p in answer.passages])
            click.echo(render_text(answer))


@cli.command()
@pass_ctx
def run(ctx: Context) -> None:
    """What `make run` does: index knowledge/ if the store is empty, then serve the Telegram bot
    when TELEGRAM_BOT_TOKEN is set, or open the terminal chat."""
    if ctx.settings.telegram_token:  # the bot embeds what lacks a vector in the background, answering meanwhile
        ctx.stop.bot = True  # a signal is how the bot ends: exit status 0
        serve_bot(ctx.settings, index_if_empty(ctx.settings, ctx.engine(), embed=False))
    else:
        engine = index_if_empty(ctx.settings, ctx.ready_engine(), stop=ctx.stop)
        preflight.require_documents(engine.store)
        run_chat(engine, ctx.question_log(engine), ctx.writer(engine))


@cli.command()
@pass_ctx
def serve(ctx: Context) -> None:
    """Run the Telegram bot (long polling, or a webhook when INVESTBOT_WEBHOOK_URL is set).

    An empty store is first filled from knowledge/ (INVESTBOT_KNOWLEDGE_DIR)."""
    preflight.require_token(ctx.settings)
    ctx.stop.bot = True  # a signal is how the bot ends: exit status 0
    ctx.stop.resume = "the documents indexed so far are kept; the next start indexes the rest"
    serve_bot(ctx.settings, index_if_empty(ctx.settings, ctx.engine(), embed=False))


def index_if_empty(settings: Settings, engine, embed: bool = True, stop: StopRequest | None = None):
    """A new installation answers from the shipped knowledge/ right away.

    embed=False leaves the embedding to the bot, which does it in the background (bot/telegram/embedding.py).
    """
    if engine.store.document_count() == 0 and Path(settings.knowledge_dir).is_dir():
        click.echo(f"The store is empty: indexing {settings.knowledge_dir}/ …", err=True)
        report = engine.ingest([settings.knowledge_dir], embed=False)
        for result in report.failed:
            click.echo(f"{result.path}: {failure_reason(result)}", err=True)
        click.echo(f"Indexed {report.count('added')} documents.", err=True)
        if embed:
            embed_with_progress(engine, stop)
    return engine


def serve_bot(settings: Settings, engine) -> None:
    """main() wiring for the bot: settings -> store -> engine -> application."""
    from bot.logs import configure_logging
    from bot.questions.log import QuestionLog
    from bot.telegram.app import build_application
    from bot.telegram.app import run as run_application

    configure_logging([settings.telegram_token or "", settings.webhook_secret or ""])
    questions = QuestionLog.open(engine.store, settings.log_salt, settings.log_retention_days)
    application = build_application(settings, engine, questions)
    mode = f"webhook {settings.webhook_url}" if settings.webhook_url else "long polling"
    click.echo(
        f"InvestBot is serving Telegram ({mode}, {engine.mode} search, "
        f"{engine.store.document_count()} documents). Ctrl-C stops it.",
        err=True,
    )
    missing = engine.store.missing_vector_count(engine.embedder.name) if engine.embedder is not None else 0
    if missing:
        click.echo(
            f"{missing} chunks have no vector yet: they are embedded in the background, and found by "
            "keywords only until then.",
            err=True,
        )
    run_application(application, settings)


@cli.command()
@pass_ctx
def reindex(ctx: Context) -> None:
    """Rebuild the vector index from the store (embedding chunks that lack vectors first)."""
    engine = ctx.ready_engine()
    if engine.embedder is None:
        raise click.ClickException("no embedding model is available, so there is no vector index to build")
    index = engine.vector_index(rebuild=True)
    click.echo(f"Vector index rebuilt: {index.count} vectors of {engine.embedder.name} ({index.dim} dimensions).")


@cli.command()
@pass_ctx
def health(ctx: Context) -> None:
    """Exit 0 when the store opens, the model loads and the vector index is in step with the store; otherwise
    exit 1 with one line why (the Docker image's HEALTHCHECK)."""
    click.echo(preflight.health(ctx.settings))


@cli.command()
@click.option("--repair", is_flag=True, help="Fix what can be fixed: orphans, the search index, vectors.")
@pass_ctx
def check(ctx: Context, repair: bool) -> None:
    """Check that the store and the vector index are consistent (exit status 1 if not)."""
    engine = ctx.engine()
    report = engine.check(repair=repair)
    for name, ids in report.problems.items():
        mark = "ok" if not ids else f"{len(ids)} found" + (f" (e.g. {', '.join(map(str, ids[:5]))})" if ids[0] else "")
        click.echo(f"{'✓' if not ids else '✗'} {name}: {mark}")
    for name, n in report.fixed.items():
        if n:
            click.echo(f"  repaired — {name}: {n}")
    docs, chunks = engine.store.document_count(), engine.store.chunk_count()
    if report.ok:
        click.echo(f"Consistent: {docs} documents, {chunks} chunks ({engine.mode} search).")
    else:
        click.echo("Inconsistent." + ("" if repair else " Run `investbot check --repair`."), err=True)
        sys.exit(1)


@cli.group(invoke_without_command=True)
@click.pass_context
def model(click_ctx: click.Context) -> None:
    """The embedding model: alone, which model and backend are in use and what each backend can run."""
    if click_ctx.invoked_subcommand is not None:
        return
    from index import open_model

    context = click_ctx.find_object(Context)
    if context is None:  # cli() always sets it
        raise click.UsageError("run as a subcommand of investbot")
    settings = context.settings
    embedder, problem = open_model(settings.engine_config())
    click.echo(model_line(settings, embedder, problem))
    if (line := llm_line(settings)) is not None:
        click.echo(line)
    for line in backends_report(settings):
        click.echo(line)


@model.command("pull")
@click.argument("name", required=False)
@pass_ctx
def model_pull(ctx: Context, name: str | None) -> None:
    """Download the embedding model into the local cache (needs internet)."""
    from index import ModelUnavailable, load_embedder

    name = name or ctx.settings.model_name
    if not name:
        raise click.ClickException("no model to pull: give a NAME or set INVESTBOT_MODEL")
    click.echo(f"Downloading {name} for the sentence-transformers backend …", err=True)
    try:
        embedder = load_embedder(
            name, backend="sentence-transformers", cache_dir=ctx.settings.model_cache, allow_download=True
        )
    except ModelUnavailable as exc:
        hint = (
            "HF_HUB_OFFLINE=1 is set: unset it to download"
            if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
            else "downloading needs an internet connection"
        )
        raise click.ClickException(f"{str(exc).rstrip('.')}; {hint}") from None
    click.echo(f"{embedder.label} is ready ({embedder.dim} dimensions).")
    if name == ctx.settings.model_name and ctx.settings.backend == "auto":
        click.echo(
            "With INVESTBOT_BACKEND=auto it is the model in use from now on; "
            "its vectors are computed on the next command that opens the store."
        )


EVAL_DIRECTIONS = ("en-en", "ru-ru", "ru-en", "en-ru")  # index.evaluation.DIRECTIONS, without importing it here


def eval_cache_dir() -> Path:
    """Where `investbot eval` keeps paragraph vectors between runs (the user's cache folder)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "investbot" / "eval"


class _Bars:
    """One progress bar (with its ETA) per label, on stderr: progress(label, done, total)."""

    def __init__(self):
        self.bars: dict[str, ProgressBar[int]] = {}

    def __call__(self, label: str, done: int, total: int) -> None:
        if label not in self.bars:
            self.bars[label] = click.progressbar(length=total, label=f"Embedding {label}", file=sys.stderr)
            self.bars[label].__enter__()
        bar = self.bars[label]
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)


@cli.command("eval")
@click.option(
    "--eval-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder with xquad/ (default: ../shared/eval, then ./shared/eval).",
)
@click.option(
    "--direction",
    "directions",
    multiple=True,
    type=click.Choice(EVAL_DIRECTIONS),
    help="Evaluate only these (default: all four).",
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Use only the first N questions of each direction.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON (for scripts).")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where paragraph vectors are kept between runs (default: ~/.cache/investbot/eval).",
)
@click.option("--fresh", is_flag=True, help="Embed the paragraphs again instead of taking their cached vectors.")
@click.option(
    "--llm",
    "llm",
    is_flag=True,
    help="Measure the language model (INVESTBOT_LLM_URL) instead: answer language, citation validity and "
    "rejection share on a sample (--limit, default 20 a direction).",
)
@pass_ctx
def eval_command(
    ctx: Context,
    eval_dir: Path | None,
    directions: tuple[str, ...],
    limit: int | None,
    as_json: bool,
    cache_dir: Path | None,
    fresh: bool,
    llm: bool,
) -> None:
    """Measure retrieval and answers on XQuAD: lexical-only, dense-only, hybrid and bm25s side by side,
    in four directions (en→en, ru→ru, ru→en, en→ru); with --llm, the language model's answers."""
    from index import find_eval_dir, format_table, open_model, run_eval

    settings = ctx.settings
    if llm:
        eval_llm(settings, eval_dir or find_eval_dir(), directions or EVAL_DIRECTIONS, limit, as_json)
        return
    embedder, problem = open_model(settings.engine_config())
    click.echo(model_line(settings, embedder, problem), err=True)
    folder = eval_dir or find_eval_dir()
    if folder is None:
        raise click.ClickException("no XQuAD data found: pass --eval-dir pointing at a folder that holds xquad/")
    report = run_eval(
        folder,
        settings.engine_config(),
        directions=directions or EVAL_DIRECTIONS,
        limit=limit,
        embedder=embedder,
        cache_dir=cache_dir or eval_cache_dir(),
        fresh=fresh,
        log=lambda m: click.echo(m, err=True),
        progress=_Bars(),
    )
    if embedder is not None:
        click.echo(f"Passage vectors: {report.from_cache} from the cache, {report.embedded} embedded now.", err=True)
    click.echo(report.to_json() if as_json else format_table(report))


def eval_llm(
    settings: Settings, folder: Path | None, directions: tuple[str, ...], limit: int | None, as_json: bool
) -> None:
    """`investbot eval --llm`: bot/cli/llm_eval.py over a sample of XQuAD."""
    from bot.cli.llm_eval import format_llm_table, llm_eval_json, run_llm_eval

    config = settings.llm_config()
    if config is None:
        raise click.UsageError("--llm needs a language model: set INVESTBOT_LLM_URL and INVESTBOT_LLM_MODEL")
    click.echo(llm_line(settings), err=True)
    if folder is None:
        raise click.ClickException("no XQuAD data found: pass --eval-dir pointing at a folder that holds xquad/")
    results = run_llm_eval(config, folder, directions, limit, progress=_Counter())
    click.echo(llm_eval_json(config.model, results) if as_json else format_llm_table(config.model, results))


class _Counter:
    """Progress of the model's answers, one line per direction on stderr."""

    def __call__(self, label: str, done: int, total: int) -> None:
        if done == total:
            click.echo(f"{label}: {total} questions asked", err=True)


for command in (questions, answers, stats, review):
    cli.add_command(command)


def main() -> None:
    cli()
