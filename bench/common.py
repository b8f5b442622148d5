"""Shared bench helpers: corpora on disk, child processes with their own peak RSS, tables, results.

Every measurement that needs a clean process (peak RSS, a fresh model load, another venv) runs a
child script; ``run_child`` waits for it with ``os.wait4`` so the peak RSS is that child's alone.
"""
from __future__ import annotations

import json
import os
import platform
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
QA = ROOT.parent / "shared" / "data" / "qa"
RESULTS = Path(os.environ.get("BENCH_RESULTS", BENCH / "results.json"))
MAIN_PY = ROOT / ".venv" / "bin" / "python"
WORK = Path(os.environ.get("BENCH_WORK", "/tmp/ragkit-bench"))
_SENTENCE = re.compile(r"[^。！？]+[。！？]")


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_ja_dev(folder: Path) -> int:
    """The shared ja_dev corpus as one .txt file per paragraph (title line, then text)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = read_jsonl(QA / "ja_dev_corpus.jsonl")
    for row in rows:
        title = str(row.get("title") or "").replace("_", " ")
        (folder / f"{row['context_id']}.txt").write_text(f"{title}\n{row['context']}", encoding="utf-8")
    return len(rows)


def japanese_sentences() -> list[str]:
    """Every sentence of the shared Japanese corpora, in file order (deterministic)."""
    out: list[str] = []
    for name in ("ja_dev_corpus.jsonl", "ja_jaquad_corpus.jsonl"):
        for row in read_jsonl(QA / name):
            out.extend(s.strip() for s in _SENTENCE.findall(row["context"]) if len(s.strip()) > 8)
    return out


CHUNKS_PER_FILE = 13.5  # measured: 10 paragraphs of ~230 chars pack into ~13.5 chunks (1-sentence overlap)


def write_synthetic(folder: Path, n_chunks: int, paragraphs: int = 10, seed: int = 0) -> int:
    """A deterministic corpus of about ``n_chunks`` chunks: files of recombined Japanese sentences.

    Each file is a handful of paragraphs, each paragraph ~230 characters (one 256-token MiniLM
    chunk holds ~240 CJK characters); with the overlap a file yields ~``CHUNKS_PER_FILE`` chunks.
    Returns the number of files written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    pool = japanese_sentences()
    rng = random.Random(seed)
    n_files = max(1, round(n_chunks / CHUNKS_PER_FILE))
    for i in range(n_files):
        paras = []
        for _ in range(paragraphs):
            para, size = [], 0
            while size < 200:
                s = pool[rng.randrange(len(pool))]
                para.append(s)
                size += len(s)
            paras.append("".join(para))
        sub = folder / f"{i // 1000:03d}"
        sub.mkdir(exist_ok=True)
        (sub / f"doc{i:06d}.txt").write_text("\n\n".join(paras), encoding="utf-8")
    return n_files


def run_child(argv: Sequence[str], env: dict | None = None, timeout: float = 1800) -> tuple[dict, float]:
    """Run a child that prints one JSON object as its last stdout line; returns it and the child's
    peak RSS in MiB (``os.wait4`` rusage of that child only)."""
    out_path = WORK / f"child-{os.getpid()}-{time.monotonic_ns()}.out"
    WORK.mkdir(parents=True, exist_ok=True)
    full_env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
                    ANONYMIZED_TELEMETRY="False", **(env or {}))
    with out_path.open("wb") as out:
        proc = subprocess.Popen(list(argv), stdout=out, stderr=sys.stderr, env=full_env, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                raise TimeoutError(f"{argv[1]} ran over {timeout:.0f}s")
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
    text = out_path.read_text(encoding="utf-8", errors="replace")
    out_path.unlink()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv[:2]))} failed (exit {proc.returncode}):\n{text[-2000:]}")
    return json.loads(text.strip().splitlines()[-1]), usage.ru_maxrss / 1024.0


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A fixed-width text table (numbers right-aligned)."""
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths))]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(row, widths)))
    return "\n".join(lines)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def _numeric(text: str) -> bool:
    return bool(re.fullmatch(r"-?[\d.]+(e-?\d+)?|nan|inf", text))


def machine() -> dict:
    """Cores, CPU model and the load when the figures were taken."""
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu_model": model, "python": platform.python_version(),
            "load_avg_1_5_15": [round(x, 2) for x in os.getloadavg()]}


def update_results(values: dict) -> dict:
    """Merge ``values`` into bench/results.json (each script owns its keys); stamps machine and date."""
    data = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {}
    for key, value in values.items():  # nested dicts merge one level, so parts can rerun alone
        old = data.get(key)
        data[key] = {**old, **value} if isinstance(old, dict) and isinstance(value, dict) else value
    data["machine"] = machine()
    data["date"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    RESULTS.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return data
