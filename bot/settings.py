"""Settings: one object built from environment variables and CLI options, passed down explicitly."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from index.answer import DEFAULT_MIN_COVERAGE
from index.embed import DEFAULT_MODEL
from index.engine import EngineConfig

BACKENDS = ("torch", "onnx")
NO_MODEL = ("", "none", "off", "lexical")


class SettingsError(ValueError):
    """A setting has an invalid value; the message names the variable and the valid choices."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    knowledge_dir: Path = Path("knowledge")
    model: str | None = DEFAULT_MODEL
    model_cache: Path | None = None
    backend: str = "torch"
    min_coverage: float = DEFAULT_MIN_COVERAGE
    dense_threshold: float = 0.85
    max_file_mb: int = 50

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> "Settings":
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
        if "INVESTBOT_BACKEND" in env:
            values["backend"] = env["INVESTBOT_BACKEND"]
        for name, key, kind in (
            ("INVESTBOT_MIN_COVERAGE", "min_coverage", float),
            ("INVESTBOT_DENSE_THRESHOLD", "dense_threshold", float),
            ("INVESTBOT_MAX_FILE_MB", "max_file_mb", int),
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
        if not 0.0 <= self.min_coverage <= 1.0:
            raise SettingsError(f"INVESTBOT_MIN_COVERAGE={self.min_coverage} must be between 0 and 1")
        if not -1.0 <= self.dense_threshold <= 1.0:
            raise SettingsError(f"INVESTBOT_DENSE_THRESHOLD={self.dense_threshold} must be between -1 and 1")
        if self.max_file_mb <= 0:
            raise SettingsError(f"INVESTBOT_MAX_FILE_MB={self.max_file_mb} must be positive")

    @property
    def model_name(self) -> str | None:
        """None when the model is switched off (INVESTBOT_MODEL=none)."""
        if self.model is None or self.model.strip().lower() in NO_MODEL:
            return None
        return self.model.strip()

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    def engine_config(self) -> EngineConfig:
        return EngineConfig(
            data_dir=self.data_dir,
            model=self.model_name,
            model_cache=self.model_cache,
            backend=self.backend,
            min_coverage=self.min_coverage,
            dense_threshold=self.dense_threshold,
            max_file_bytes=self.max_file_mb * 1024 * 1024,
        )
