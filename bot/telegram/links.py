"""Staff add web pages by their address: a private message that is a link, or /add URL.

The bot answers at once that it is fetching (a sitemap of 200 pages takes a while), then with one report: each
page added or updated with its id, title and date, each address that failed with the one line saying why, and
for a sitemap or feed how many pages it gave. All fetching, reading and writing runs in a worker thread
(asyncio.to_thread), so investors are answered meanwhile. A link from anyone who is not staff goes to
investor.text_message like any other text (a bare link gets a small-talk reply there). Pages are committed
without vectors, found by keywords at once, and embedded in the background afterwards (bot/telegram/embedding.py),
as uploads are.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

from telegram import Update
from telegram.constants import ChatAction

from bot.messages import ingested_text, plural, reason_text, text
from bot.settings import web_failure_line
from bot.telegram import investor
from bot.telegram.context import BotContext, message_parts, reply, send_report, show_action, user_language
from bot.telegram.staff import admin_only
from index import IngestStatus, ListingResult, WebReport, WebResult, is_address

MAX_LINKS = 10  # addresses in one message or /add
LISTED_FAILURES = 10  # failed pages of a sitemap or feed named one by one; the rest are counted

# A message that is nothing but one or more http(s) addresses (\A...\Z: no question around them).
LINK_MESSAGE = re.compile(r"\A\s*https?://\S+(?:\s+https?://\S+)*\s*\Z", re.IGNORECASE)


async def link_message(update: Update, context: BotContext) -> None:
    """A private message that is a link: staff add it; anyone else asked a question."""
    parts = message_parts(update)
    if parts is None:
        return
    if not context.bot_data.settings.is_admin(parts.user_id):
        await investor.text_message(update, context)
        return
    await ingest_links(update, context, (parts.message.text or "").split())


@admin_only
async def add_command(update: Update, context: BotContext) -> None:
    """/add URL [URL...]: the same as sending the link, and the way to do it in a group."""
    addresses = [arg for arg in context.args or [] if is_address(arg)]
    if not addresses:
        await reply(update, text("add_usage", user_language(update)))
        return
    await ingest_links(update, context, addresses)


async def ingest_links(update: Update, context: BotContext, addresses: Sequence[str]) -> None:
    """Tell staff the fetch has started, ingest in a worker thread, then report every address."""
    parts = message_parts(update)
    if parts is None:
        return
    data = context.bot_data
    lang = user_language(update)
    addresses = list(dict.fromkeys(addresses))
    if len(addresses) > MAX_LINKS:
        await reply(update, text("too_many_links", lang, limit=MAX_LINKS))
        return
    await reply(update, text("fetching", lang, addresses=", ".join(addresses)))
    chat_id = parts.chat_id
    await show_action(context, chat_id, ChatAction.TYPING)
    report = await asyncio.to_thread(data.engine.ingest_urls, addresses, data.settings.fetch_config(), embed=False)
    await send_report(context, chat_id, web_report_text(report, lang, data.settings.max_pages))
    if report.chunk_ids and data.embedding.enabled:  # found by keywords already; by meaning once embedded
        context.application.create_task(data.embedding.run(), update, name="embed-web-pages")


def web_report_text(report: WebReport, lang: str, max_pages: int) -> str:
    """Pages given directly: one entry each. A sitemap or feed: one summary, and its failed pages by name."""
    blocks = [_page_text(result, lang) for result in report.results if result.listing is None]
    for listing in report.listings:
        pages = [result for result in report.results if result.listing == listing.address]
        blocks.append(_listing_text(listing, pages, lang, max_pages))
    return "\n\n".join(blocks)


def _page_text(result: WebResult, lang: str) -> str:
    if result.status == IngestStatus.FAILED:
        return text("link_failed", lang, line=web_failure_line(result, lang))
    if result.doc_id is None:  # a duplicate of another address in the same message
        return text("link_duplicate", lang, address=result.address, reason=reason_text(result.reason, lang))
    entry = ingested_text(result, lang)
    return f"{entry}\n{result.url or result.address}"


def _listing_text(listing: ListingResult, pages: Sequence[WebResult], lang: str, max_pages: int) -> str:
    count = {status: sum(1 for page in pages if page.status == status) for status in IngestStatus}
    cap = text("listing_cap", lang, found=listing.found, limit=max_pages) if listing.truncated else ""
    lines = [
        text(
            "listing_summary",
            lang,
            address=listing.address,
            kind=text(f"listing_{listing.kind.name.lower()}", lang),
            taken=listing.taken,
            noun=plural(listing.taken, "page", lang),
            cap=cap,
            added=count[IngestStatus.ADDED],
            replaced=count[IngestStatus.REPLACED],
            unchanged=count[IngestStatus.UNCHANGED] + count[IngestStatus.DUPLICATE],
            failed=count[IngestStatus.FAILED],
        )
    ]
    failed = [page for page in pages if page.status == IngestStatus.FAILED]
    lines += [f"❌ {web_failure_line(page, lang)}" for page in failed[:LISTED_FAILURES]]
    if len(failed) > LISTED_FAILURES:
        lines.append(text("and_more", lang, n=len(failed) - LISTED_FAILURES))
    return "\n".join(lines)
