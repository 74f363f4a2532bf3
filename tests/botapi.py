"""A Telegram Bot API stand-in on 127.0.0.1, for end-to-end tests of the real Application.

It speaks the subset of the Bot API the bot uses (getMe, deleteWebhook, getUpdates with long
polling, sendMessage, sendChatAction, answerCallbackQuery, editMessageReplyMarkup/Text, getFile,
file downloads, setMyCommands) over plain HTTP, the way a self-hosted telegram-bot-api server does.
Tests push updates as a user would send them and read what the bot sent back.

Tests never sleep to let the bot act: `until()` waits for what should happen, and `wait_idle()` is the
signal a negative check ("the bot did not reply") waits for, so a loaded machine slows tests but never
fails them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

BOT_ID = 7000001
BOT_USERNAME = "investbot_test_bot"


class BotAPIStandIn:
    def __init__(self, token: str):
        self.token = token
        self.calls: list[tuple[str, dict]] = []
        self.updates: list[dict] = []
        self.files: dict[str, tuple[bytes, str]] = {}
        self.cond = threading.Condition()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._callback_ids = itertools.count(1)
        self._acknowledged = 0  # the highest update id the bot confirmed (a getUpdates with a later offset)
        self._in_flight = 0  # requests other than getUpdates being answered right now
        self._closed = False
        self.server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="botapi-standin", daemon=True)

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self) -> BotAPIStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        with self.cond:  # long polls waiting for updates return now rather than at their timeout
            self._closed = True
            self.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=30)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/file/bot"

    # --- what users do ----------------------------------------------------------------------------

    @staticmethod
    def user(user_id: int, language_code: str | None = "en") -> dict:
        user = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        if language_code:
            user["language_code"] = language_code
        return user

    def _message(self, user_id, chat_id, chat_type, language_code, **fields) -> dict:
        chat = {"id": chat_id if chat_id is not None else user_id, "type": chat_type}
        if chat_type != "private":
            chat["title"] = "Investors club"
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self.user(user_id, language_code),
            **fields,
        }

    def push(self, update: dict) -> dict:
        with self.cond:
            update["update_id"] = next(self._update_ids)
            self.updates.append(update)
            self.cond.notify_all()
        return update

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_type: str = "private",
        chat_id: int | None = None,
        language_code: str | None = "en",
        entities: list[dict] | None = None,
        reply_to: dict | None = None,
        edited: bool = False,
    ) -> dict:
        if entities is None and text.startswith("/"):
            command = text.split()[0]
            entities = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        fields: dict = {"text": text}
        if entities:
            fields["entities"] = entities
        if reply_to is not None:
            fields["reply_to_message"] = reply_to
        message = self._message(user_id, chat_id, chat_type, language_code, **fields)
        if edited:
            message["edit_date"] = int(time.time())
        return self.push({"edited_message" if edited else "message": message})

    def send_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str,
        *,
        caption: str | None = None,
        chat_type: str = "private",
        language_code: str | None = "en",
        file_size: int | None = None,
    ) -> dict:
        file_id = f"file{len(self.files) + 1}"
        self.files[file_id] = (data, file_name)
        document = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": file_name,
            "mime_type": "application/octet-stream",
            "file_size": file_size if file_size is not None else len(data),
        }
        fields = {"document": document}
        if caption:
            fields["caption"] = caption
        return self.push({"message": self._message(user_id, None, chat_type, language_code, **fields)})

    def send_sticker(self, user_id: int) -> dict:
        sticker = {
            "file_id": "s1",
            "file_unique_id": "us1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self.push({"message": self._message(user_id, None, "private", "en", sticker=sticker)})

    def send_photo(self, user_id: int) -> dict:
        photo = [{"file_id": "p1", "file_unique_id": "up1", "width": 90, "height": 90}]
        return self.push({"message": self._message(user_id, None, "private", "en", photo=photo)})

    def press(self, user_id: int, message: dict, data: str, language_code: str | None = "en") -> dict:
        """Press an inline button under a message the bot sent (as returned by sent())."""
        query = {
            "id": str(next(self._callback_ids)),
            "from": self.user(user_id, language_code),
            "chat_instance": "ci",
            "data": data,
            "message": message,
        }
        return self.push({"callback_query": query})

    # --- what the bot did -------------------------------------------------------------------------

    def sent(self, chat_id: int | None = None, method: str = "sendMessage") -> list[dict]:
        with self.cond:
            return [
                params
                for name, params in self.calls
                if name == method and (chat_id is None or int(params.get("chat_id", 0)) == chat_id)
            ]

    def calls_of(self, method: str) -> list[dict]:
        with self.cond:
            return [params for name, params in self.calls if name == method]

    async def until(self, predicate, timeout: float = 60.0, what: str = "the bot to act"):
        """Wait (without blocking the event loop) until predicate() is truthy; return its value.

        timeout is a deadline for a bot that is stuck, generous so a loaded machine never hits it; it is
        not a speed expectation.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            await asyncio.sleep(0.02)
        with self.cond:
            names = [c[0] for c in self.calls]
        raise AssertionError(f"timed out waiting for {what}; calls so far: {names}")

    async def wait_idle(self, application, update: dict | None = None, timeout: float = 60.0) -> None:
        """Return once the bot has taken `update` (default: every update pushed so far) and finished
        handling it, so that what it has not sent by now it will not send.

        A negative check ("the bot did not reply") needs this signal, not a sleep: a sleep long enough
        on an idle machine is too short on a loaded one. Two facts make the signal:
        - the bot confirmed the update: PTB's updater asks getUpdates with a later offset only after
          putting what it got on application.update_queue;
        - the queue is joined: the Application calls task_done() on an update when its handlers have
          finished (every handler of the bot awaits its work; none is block=False).
        Then no request of the bot may still be in flight here. Call it inside `running(application)`,
        in long-polling mode.
        """
        with self.cond:
            last = self.updates[-1]["update_id"] if self.updates else 0
        target = update["update_id"] if update is not None else last
        await self.until(lambda: self._acknowledged >= target, timeout, what=f"the bot to confirm update {target}")
        try:
            await asyncio.wait_for(application.update_queue.join(), timeout)
        except TimeoutError:
            raise AssertionError(f"the bot was still handling updates after {timeout} s") from None
        await self.until(lambda: self._in_flight == 0, timeout, what="the bot's requests to finish")

    # --- the server -------------------------------------------------------------------------------

    def _bot_user(self) -> dict:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "InvestBot",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _result(self, method: str, params: dict):
        if method == "getMe":
            return self._bot_user()
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            timeout = min(float(params.get("timeout") or 0), 1.0)
            deadline = time.monotonic() + timeout
            with self.cond:
                # An offset confirms every update before it: the bot has queued them (see wait_idle).
                self._acknowledged = max(self._acknowledged, offset - 1)
                while True:
                    # As Telegram: a confirmed update is gone, so a bot started anew (offset 0) gets only the
                    # unconfirmed ones, not the previous process's again.
                    ready = [u for u in self.updates if u["update_id"] > self._acknowledged]
                    remaining = deadline - time.monotonic()
                    if ready or remaining <= 0 or self._closed:
                        return ready[: int(params.get("limit") or 100)]
                    self.cond.wait(remaining)
        if method in ("sendMessage", "editMessageText"):
            chat_id = int(params["chat_id"]) if "chat_id" in params else 0
            message = {
                "message_id": int(params.get("message_id") or next(self._message_ids)),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "from": self._bot_user(),
                "text": params.get("text", ""),
            }
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            params["_message"] = message
            return message
        if method == "editMessageReplyMarkup":
            return True
        if method == "getFile":
            file_id = params["file_id"]
            if file_id not in self.files:
                raise KeyError(file_id)
            data, _ = self.files[file_id]
            return {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_size": len(data),
                "file_path": f"documents/{file_id}",
            }
        return True  # deleteWebhook, setMyCommands, sendChatAction, answerCallbackQuery, …

    def _handler_class(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _counted(self, serve) -> None:
                """Serve a request, counted as in flight until its reply is written (see wait_idle)."""
                with api.cond:
                    api._in_flight += 1
                try:
                    serve()
                finally:
                    with api.cond:
                        api._in_flight -= 1

            def do_GET(self):
                self._counted(self._get)

            def _get(self):
                prefix = f"/file/bot{api.token}/documents/"
                path = unquote(self.path)
                if path.startswith(prefix) and path[len(prefix) :] in api.files:
                    self._reply(200, api.files[path[len(prefix) :]][0], "application/octet-stream")
                else:
                    with api.cond:
                        api.calls.append(("GET-404", {"path": self.path}))
                    self._reply(404, b"not found", "text/plain")

            def do_POST(self):
                if self.path.endswith("/getUpdates"):
                    self._post()  # a long poll is the bot waiting, not the bot busy
                else:
                    self._counted(self._post)

            def _post(self):
                prefix = f"/bot{api.token}/"
                path = unquote(self.path)
                if not path.startswith(prefix):
                    self._reply(
                        401, json.dumps({"ok": False, "error_code": 401, "description": "Unauthorized"}).encode()
                    )
                    return
                method = path[len(prefix) :]
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                params = _parse(raw, self.headers.get("Content-Type", ""))
                with api.cond:
                    api.calls.append((method, params))
                try:
                    result = api._result(method, params)
                except KeyError:
                    body = {"ok": False, "error_code": 400, "description": "Bad Request: wrong file_id"}
                    self._reply(400, json.dumps(body).encode())
                    return
                self._reply(200, json.dumps({"ok": True, "result": result}).encode())

        return Handler


class _QuietServer(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: a burst of concurrent bot requests overflows it and
    # the kernel drops connections (the bot sees httpx.ReadError / TimedOut). bench/bot_load.py needs more.
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        """A client that hung up (the bot stopping mid long-poll) is normal here, not an error."""
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def _parse(raw: bytes, content_type: str) -> dict:
    """PTB sends form fields whose values are JSON (or plain strings), or a JSON body."""
    if not raw:
        return {}
    if "application/json" in content_type:
        return json.loads(raw)
    params = {}
    for key, values in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items():
        value = values[0]
        if key in ("text", "caption"):
            params[key] = value  # "10" is a text, not a number
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params
