"""`GET /healthz` on the webhook server: a load balancer or an orchestrator asks whether the bot is up.

In webhook mode PTB serves Telegram's POSTs from its own tornado application (`Updater.start_webhook`
builds it, `run_webhook` runs and stops it), which has no public hook for another route. Once the
webhook server listens (a job the job queue runs at once when the application starts, which is after
the server is up), a `/healthz` route is added to that tornado application with tornado's own
`add_handlers`. It answers 200 with a small JSON body while the application runs and its store answers,
503 otherwise; it reads nothing secret and needs no token. Long polling has no server: there
`investbot health` (Docker's HEALTHCHECK) is the check.
"""

from __future__ import annotations

import asyncio
import json
import logging

import tornado.web
from telegram.ext import Application

from bot.telegram.context import BotContext

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"


class HealthHandler(tornado.web.RequestHandler):
    """200 {"status": "ok", "documents": N} while the bot runs and its store answers; 503 with the reason else."""

    def initialize(self, bot_application: Application) -> None:
        self.bot_application = bot_application

    async def get(self) -> None:
        application = self.bot_application
        status, body = 200, {"status": "ok"}
        if not application.running:
            status, body = 503, {"status": "stopping"}
        else:
            try:
                store = application.bot_data.engine.store
                body["documents"] = await asyncio.to_thread(store.document_count)
            except Exception as exc:  # the store does not answer: say so, without a traceback per probe
                status, body = 503, {"status": "store unavailable", "error": type(exc).__name__}
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body))


def add_health_route(application: Application) -> bool:
    """Add /healthz to the running webhook server's tornado application; False (and a warning) if there is none."""
    updater = application.updater
    server = getattr(getattr(updater, "_httpd", None), "_http_server", None)  # PTB's WebhookServer → HTTPServer
    app = getattr(server, "request_callback", None)
    if not isinstance(app, tornado.web.Application):
        log.warning("The webhook server was not found: %s is not served", HEALTH_PATH)
        return False
    app.add_handlers(r".*", [(HEALTH_PATH, HealthHandler, {"bot_application": application})])
    return True


async def health_route_job(context: BotContext) -> None:
    """JobQueue callback, once at start in webhook mode (the server is listening by then)."""
    add_health_route(context.application)
