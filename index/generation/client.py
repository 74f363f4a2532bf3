"""Chat completions from any OpenAI-compatible server (vLLM, llama.cpp, Ollama, OpenAI...), plain or streamed.

One deadline covers the whole answer: connecting, waiting, every streamed chunk and the one retry, so a slow or
trickling server costs the caller at most LLMConfig.timeout. A 429 or 5xx is retried once (after its Retry-After
when that is short enough to fit); every failure is an LLMError with a RejectReason. Streaming reports the text so
far to `on_delta` as each chunk arrives, which is what a Telegram draft shows.

The work is async (httpx.AsyncClient under asyncio.timeout, which cancels a read mid-wait); `chat` runs it on a
private event loop for callers in a worker thread. Usage comes from the server's `usage` field (requested with
stream_options.include_usage when streaming) and is estimated from the characters when the server sends none.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from .config import LLMConfig, LLMError, RejectReason

OnDelta = Callable[[str], None]  # called with the whole text received so far
Messages = list[dict[str, str]]

_RETRY_WAIT = 0.5  # seconds before the retry when the server gives no Retry-After
_MAX_ERROR_BODY = 2000


@dataclass(frozen=True)
class Completion:
    text: str
    model: str  # as the server names it (falls back to the configured name)
    prompt_tokens: int
    completion_tokens: int
    usage_estimated: bool  # the server sent no usage: the counts are estimates from the characters
    latency_s: float
    finish_reason: str | None
    attempts: int


def estimate_tokens(text: str, chars_per_token: float = 3.0) -> int:
    return math.ceil(len(text) / chars_per_token) if text else 0


def messages_chars(messages: Messages) -> int:
    return sum(len(m.get("content", "")) for m in messages)


def chat(
    config: LLMConfig,
    messages: Messages,
    *,
    stream: bool = False,
    on_delta: OnDelta | None = None,
    max_tokens: int | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Completion:
    """The sync API (for a worker thread): runs chat_async on its own event loop. Not for a thread that
    already runs one: there, await chat_async."""
    return asyncio.run(
        chat_async(config, messages, stream=stream, on_delta=on_delta, max_tokens=max_tokens, transport=transport)
    )


async def chat_async(
    config: LLMConfig,
    messages: Messages,
    *,
    stream: bool = False,
    on_delta: OnDelta | None = None,
    max_tokens: int | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Completion:
    """One chat completion within config.timeout, or an LLMError. on_delta gets the text so far (streaming)."""
    started = time.monotonic()
    deadline = started + config.timeout
    payload: dict[str, Any] = {
        "model": config.model,
        "messages": messages,
        "max_tokens": max_tokens or config.max_tokens,
        "temperature": config.temperature,
        "stream": stream,
    }
    if stream:
        payload["stream_options"] = {"include_usage": True}
    headers = {"Accept": "text/event-stream" if stream else "application/json"}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    try:
        async with (
            asyncio.timeout(config.timeout),
            httpx.AsyncClient(
                timeout=config.timeout, trust_env=False, proxy=config.proxy, transport=transport
            ) as client,
        ):
            result = await _post(client, config, payload, headers, deadline, on_delta)
    except TimeoutError as error:
        raise LLMError(RejectReason.TIMEOUT, f"no complete answer within {config.timeout:g} s") from error
    except httpx.TimeoutException as error:
        raise LLMError(RejectReason.TIMEOUT, type(error).__name__) from error
    text, model, usage, finish_reason, attempts = result
    prompt_tokens = _usage_int(usage, "prompt_tokens")
    completion_tokens = _usage_int(usage, "completion_tokens")
    estimated = prompt_tokens is None or completion_tokens is None
    if prompt_tokens is None:
        prompt_tokens = math.ceil(messages_chars(messages) / config.chars_per_token)
    if completion_tokens is None:
        completion_tokens = estimate_tokens(text, config.chars_per_token)
    return Completion(
        text=text,
        model=model or config.model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        usage_estimated=estimated,
        latency_s=time.monotonic() - started,
        finish_reason=finish_reason,
        attempts=attempts,
    )


def _usage_int(usage: Any, key: str) -> int | None:
    value = usage.get(key) if isinstance(usage, dict) else None
    return value if isinstance(value, int) and value >= 0 else None


_Result = tuple[str, str, Any, str | None, int]


async def _post(
    client: httpx.AsyncClient,
    config: LLMConfig,
    payload: dict[str, Any],
    headers: dict[str, str],
    deadline: float,
    on_delta: OnDelta | None,
) -> _Result:
    for attempt in (1, 2):
        try:
            async with client.stream("POST", config.endpoint, json=payload, headers=headers) as response:
                status = response.status_code
                if status == 429 or status >= 500:
                    reason = RejectReason.RATE_LIMITED if status == 429 else RejectReason.HTTP_ERROR
                    body = await _error_body(response)
                    wait = _retry_wait(response.headers.get("retry-after"), config.max_retry_after)
                    if attempt == 2 or wait is None or time.monotonic() + wait >= deadline:
                        raise LLMError(reason, f"HTTP {status}: {body}")
                else:
                    if status != 200:
                        raise LLMError(RejectReason.HTTP_ERROR, f"HTTP {status}: {await _error_body(response)}")
                    content_type = response.headers.get("content-type", "")
                    if payload["stream"] and "json" not in content_type:
                        text, model, usage, finish = await _read_stream(response, config, on_delta)
                    else:  # asked plain, or a server that ignores stream=true and answers in one JSON
                        text, model, usage, finish = await _read_json(response, config)
                        if on_delta is not None and text:
                            on_delta(text)
                    return text, model, usage, finish, attempt
        except httpx.ConnectError as error:
            raise LLMError(RejectReason.UNREACHABLE, str(error) or type(error).__name__) from error
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as error:
            raise LLMError(RejectReason.BROKEN_STREAM, str(error) or type(error).__name__) from error
        await asyncio.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def _retry_wait(header: str | None, cap: float) -> float | None:
    """Seconds to wait before the retry, or None when the server asks for longer than `cap`."""
    if header is None:
        return _RETRY_WAIT
    try:
        seconds = float(header.strip())
    except ValueError:
        return None  # an HTTP date: a long wait by any measure here
    if seconds < 0 or seconds > cap:
        return None
    return seconds


async def _error_body(response: httpx.Response) -> str:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= _MAX_ERROR_BODY:
            break
    return b"".join(chunks)[:_MAX_ERROR_BODY].decode("utf-8", "replace").strip()


def _server_error(data: dict[str, Any]) -> LLMError:
    error = data.get("error")
    message = error.get("message", "") if isinstance(error, dict) else str(error)
    return LLMError(RejectReason.HTTP_ERROR, f"server error: {message}"[:_MAX_ERROR_BODY])


async def _read_json(response: httpx.Response, config: LLMConfig) -> tuple[str, str, Any, str | None]:
    body = b""
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > config.max_answer_chars * 8:
            raise LLMError(RejectReason.BAD_RESPONSE, "reply too long")
    try:
        data = json.loads(body)
    except ValueError as error:
        raise LLMError(RejectReason.BAD_RESPONSE, f"not JSON: {body[:200]!r}") from error
    if not isinstance(data, dict):
        raise LLMError(RejectReason.BAD_RESPONSE, "not a JSON object")
    if "error" in data:
        raise _server_error(data)
    try:
        choice = data["choices"][0]
        text = choice["message"]["content"]
    except (KeyError, IndexError, TypeError) as error:
        raise LLMError(RejectReason.BAD_RESPONSE, "no choices[0].message.content") from error
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise LLMError(RejectReason.BAD_RESPONSE, "content is not text")
    if len(text) > config.max_answer_chars:
        raise LLMError(RejectReason.BAD_RESPONSE, "reply too long")
    model = data.get("model")
    finish = choice.get("finish_reason") if isinstance(choice, dict) else None
    return text, model if isinstance(model, str) else "", data.get("usage"), finish if isinstance(finish, str) else None


async def _read_stream(
    response: httpx.Response, config: LLMConfig, on_delta: OnDelta | None
) -> tuple[str, str, Any, str | None]:
    parts: list[str] = []
    size = 0
    model = ""
    usage: Any = None
    finish_reason: str | None = None
    done = False
    async for line in response.aiter_lines():
        line = line.strip()
        if not line.startswith("data:"):
            continue  # blank separators, ": keep-alive" comments, "event:" and "id:" fields
        data_text = line[5:].strip()
        if data_text == "[DONE]":
            done = True
            break
        try:
            data = json.loads(data_text)
        except ValueError as error:
            raise LLMError(RejectReason.BAD_RESPONSE, f"stream chunk not JSON: {data_text[:200]!r}") from error
        if not isinstance(data, dict):
            raise LLMError(RejectReason.BAD_RESPONSE, "stream chunk not a JSON object")
        if "error" in data:
            raise _server_error(data)
        if isinstance(data.get("model"), str):
            model = data["model"]
        if data.get("usage"):
            usage = data["usage"]
        choices = data.get("choices") or []
        if not isinstance(choices, list):
            raise LLMError(RejectReason.BAD_RESPONSE, "choices is not a list")
        for choice in choices[:1]:
            if not isinstance(choice, dict):
                raise LLMError(RejectReason.BAD_RESPONSE, "choice is not an object")
            delta = choice.get("delta") or {}
            piece = delta.get("content") if isinstance(delta, dict) else None
            if choice.get("finish_reason"):
                finish_reason = choice["finish_reason"]
            if isinstance(piece, str) and piece:
                parts.append(piece)
                size += len(piece)
                if size > config.max_answer_chars:
                    raise LLMError(RejectReason.BAD_RESPONSE, "reply too long")
                if on_delta is not None:
                    on_delta("".join(parts))
    if not done and finish_reason is None:
        raise LLMError(RejectReason.BROKEN_STREAM, "the stream ended without [DONE]")
    return "".join(parts), model, usage, finish_reason
