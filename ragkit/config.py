"""Typed settings, layered: defaults < ragkit.toml < RAGKIT_* environment < explicit overrides.

In ``ragkit.toml`` a key ``model_path`` in section ``[llm]`` is the setting ``llm_model_path``;
the matching environment variable is ``RAGKIT_LLM_MODEL_PATH``. Top-level keys map directly
(``store = "..."`` → ``store``, env ``RAGKIT_STORE``).
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

CONFIG_FILE = "ragkit.toml"
MODES = ("dense", "lexical", "hybrid")
EMBED_DTYPES = ("auto", "float32", "bfloat16")


@dataclass(frozen=True)
class Settings:
    """Every knob ragkit has; ``None`` model paths mean the bundled offline models."""

    store: str = ".ragkit"
    collection: str | None = None  # ingest into / ask in this collection (unset: "default" / every one)
    embed_model_path: str | None = None
    embed_batch_size: int = 32
    embed_dtype: str = "auto"
    embed_base_url: str | None = None
    embed_model: str | None = None
    embed_api_key_env: str | None = None
    embed_timeout: float = 60.0
    embed_max_tokens: int = 512
    llm_model_path: str | None = None
    llm_prompt_format: str = "auto"
    llm_n_ctx: int = 4096
    llm_n_threads: int | None = None
    llm_max_answer_tokens: int | None = None
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key_env: str | None = None
    llm_timeout: float = 120.0
    chunk_max_tokens: int = 256
    chunk_overlap_sentences: int = 1
    retrieve_mode: str = "hybrid"
    retrieve_k: int = 5
    retrieve_dense_weight: str = "auto"
    retrieve_lexical_weight: float = 1.0
    pdf_password: str | None = None
    lock_timeout: float = 60.0
    ingest_max_file_mb: float = 200.0
    data_dir: str | None = None
    serve_max_body_mb: float = 100.0  # `ragkit serve`: largest request (an upload) before 413
    serve_generation_slots: int = 1  # answers generated at once: 1 for the in-process model
    serve_generation_queue: int = 8  # answers that may wait for a slot; more get 503 + Retry-After
    chroma_url: str | None = None
    chroma_headers: dict[str, str] | None = None

    def replace(self, **changes: Any) -> "Settings":
        """A copy with the non-None ``changes`` applied and validated."""
        clean = {k: v for k, v in changes.items() if v is not None}
        return _validated(dataclasses.replace(self, **_coerce_all(clean)))


_FIELDS = {f.name: f for f in fields(Settings)}


def _coerce(name: str, value: Any) -> Any:
    if name not in _FIELDS:
        raise ConfigError(f"unknown setting {name!r}; known: {', '.join(sorted(_FIELDS))}")
    kind = str(_FIELDS[name].type)
    if value is None or value == "":
        return None if "None" in kind else value
    if kind.startswith("dict"):
        return _headers(name, value)
    try:
        if kind.startswith("int"):
            return int(value)
        if kind.startswith("float"):
            return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name!r} must be a number, got {value!r}") from None
    return str(value)


def _headers(name: str, value: Any) -> dict[str, str]:
    """A table of HTTP headers: a TOML table, or a JSON object in the environment variable."""
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"setting {_key(name)} must be a table of header names to strings, like "
                          '{"X-Token" = "${CHROMA_TOKEN}"} (in the environment: a JSON object)')
    return {str(k): v for k, v in value.items()}


def _coerce_all(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _coerce(k, v) for k, v in values.items()}


def _validated(settings: Settings) -> Settings:
    if settings.retrieve_mode not in MODES:
        raise ConfigError(f"retrieve mode must be one of {', '.join(MODES)}, got {settings.retrieve_mode!r}")
    if settings.retrieve_dense_weight != "auto":
        try:
            float(settings.retrieve_dense_weight)
        except ValueError:
            raise ConfigError("retrieve dense_weight must be 'auto' or a number") from None
    if settings.embed_dtype not in EMBED_DTYPES:
        raise ConfigError(f"embed dtype must be one of {', '.join(EMBED_DTYPES)}, got {settings.embed_dtype!r}")
    for name, (low, high) in _RANGES.items():
        _check_range(name, getattr(settings, name), low, high)
    if settings.llm_max_answer_tokens is not None and settings.llm_max_answer_tokens > settings.llm_n_ctx // 2:
        raise ConfigError(f"{_key(name='llm_max_answer_tokens')} must be at most half of llm.n_ctx "
                          f"({settings.llm_n_ctx // 2}), got {settings.llm_max_answer_tokens}: the sources need the rest")
    if not settings.serve_max_body_mb > 0:
        raise ConfigError(f"{_key('serve_max_body_mb')} must be above 0, got {settings.serve_max_body_mb}")
    if settings.collection is not None:
        from .docmeta import collection_name

        collection_name(settings.collection, "setting collection (RAGKIT_COLLECTION)")
    if not settings.ingest_max_file_mb > 0:
        raise ConfigError(f"ingest max_file_mb must be above 0, got {settings.ingest_max_file_mb}")
    return settings


MIN_N_CTX = 512  # the smallest prompt frame plus a short answer and one source: below this nothing fits
_RANGES: dict[str, tuple[float, float | None]] = {
    # setting: (lowest, highest or None); None values (e.g. "use the model's default") are skipped
    "chunk_max_tokens": (16, None),
    "chunk_overlap_sentences": (0, None),
    "retrieve_k": (1, 1000),
    "retrieve_lexical_weight": (0, None),
    "embed_batch_size": (1, None),
    "llm_n_ctx": (MIN_N_CTX, None),
    "llm_n_threads": (1, None),
    "llm_max_answer_tokens": (1, None),
    "lock_timeout": (0, None),
    "serve_generation_slots": (1, 64),
    "serve_generation_queue": (0, 10000),
    "llm_timeout": (0.1, None),
    "embed_timeout": (0.1, None),
    "embed_max_tokens": (16, None),
}


def _key(name: str) -> str:
    """How a user writes setting ``name``: its ragkit.toml key and environment variable."""
    section, _, key = name.partition("_")
    toml = f"{section}.{key}" if key and section in {"embed", "llm", "chunk", "retrieve", "pdf", "serve", "chroma"} else name
    return f"{toml} (RAGKIT_{name.upper()})"


def _check_range(name: str, value: float | None, low: float, high: float | None) -> None:
    if value is None:
        return
    if value < low or (high is not None and value > high):
        allowed = f"from {low:g} to {high:g}" if high is not None else f"at least {low:g}"
        raise ConfigError(f"setting {_key(name)} must be {allowed}, got {value:g}")


def _flatten_toml(data: Mapping[str, Any], path: Path) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            for sub, inner in value.items():  # a table inside a section (chroma.headers) stays whole
                flat[f"{key}_{sub}"] = inner
        else:
            flat[key] = value
    unknown = sorted(set(flat) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    return flat


def read_toml(path: Path) -> dict[str, Any]:
    """Settings from one TOML file, flattened to field names."""
    try:
        with open(path, "rb") as fh:
            return _flatten_toml(tomllib.load(fh), path)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror})") from None


def read_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings from ``RAGKIT_<FIELD>`` variables."""
    return {name: environ[f"RAGKIT_{name.upper()}"] for name in _FIELDS if f"RAGKIT_{name.upper()}" in environ}


def load_settings(config: str | Path | None = None, environ: Mapping[str, str] | None = None,
                  **overrides: Any) -> Settings:
    """Resolve settings: defaults < config file < environment < overrides (None values ignored).

    The config file is ``config`` if given, else ``$RAGKIT_CONFIG``, else ``./ragkit.toml`` if present.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = config or environ.get("RAGKIT_CONFIG")
    if path:
        if not Path(path).is_file():
            raise ConfigError(f"config file {path} does not exist")
        values.update(read_toml(Path(path)))
    elif Path(CONFIG_FILE).is_file():
        values.update(read_toml(Path(CONFIG_FILE)))
    values.update(read_env(environ))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return _validated(Settings(**_coerce_all(values)))
