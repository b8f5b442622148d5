"""Office ingest throughput and the memory of a 50,000-row sheet; merges into bench/results.json.

    .venv/bin/python bench/office.py [--copies 20] [--rows 50000]

* ``office_units_per_s``: the generated Office/HTML/CSV sample corpus (``corpora/.src/office``,
  built fresh) copied ``--copies`` times, ingested by ``bench/ingest_child.py`` into a fresh store:
  units (slides, sheet row blocks, sections) indexed per second of ingest wall time, model load
  not timed. Embedding is most of it, as for PDFs and text; ``office_load_units_per_s`` is the
  loaders alone (parsing), from the child's ``load`` stage.
* ``office_big_sheet_peak_rss_mb``: peak RSS of a child that only loads one generated sheet of
  ``--rows`` rows × 5 columns (openpyxl read-only + the merged-cell byte scan), and its seconds.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, WORK, run_child, table, update_results  # noqa: E402


def _build_office(out: Path) -> list[Path]:
    src = ROOT / "corpora" / ".src" / "build_office.py"
    spec = importlib.util.spec_from_file_location("build_office", src)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out.mkdir(parents=True, exist_ok=True)
    return module.build_office(out)


def write_big_sheet(path: Path, rows: int) -> None:
    """A sales sheet of ``rows`` rows under one header (XlsxWriter, constant memory)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("売上")
    ws.write_row(0, 0, ["伝票番号", "日付", "得意先", "品目", "金額"])
    for r in range(1, rows + 1):
        ws.write_row(r, 0, [f"S{r:06d}", f"2025-{r % 12 + 1:02d}-01", f"得意先{r % 97}", f"品目{r % 31}", r * 10])
    wb.close()


def big_sheet_child(path: Path) -> None:
    """Child mode: load one workbook and print units, characters and seconds as JSON."""
    from ragkit.loaders import load

    started = time.perf_counter()
    docs = load(path)
    print(json.dumps({"units": len(docs), "chars": sum(len(d.text) for d in docs),
                      "load_s": round(time.perf_counter() - started, 3)}))


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--big-sheet-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.big_sheet_child:
        big_sheet_child(args.big_sheet_child)
        return {}

    work = WORK / "office"
    shutil.rmtree(work, ignore_errors=True)
    built = _build_office(work / "built")
    docs = work / "docs"
    for i in range(args.copies):
        folder = docs / f"copy{i:03d}"
        folder.mkdir(parents=True)
        for path in built:
            shutil.copy(path, folder / path.name)
    ingest, ingest_rss = run_child([sys.executable, "bench/ingest_child.py", str(docs), str(work / "store")])

    big = work / f"big_{args.rows}.xlsx"
    write_big_sheet(big, args.rows)
    sheet, sheet_rss = run_child([sys.executable, "bench/office.py", "--big-sheet-child", str(big)])

    units, wall = ingest["pages"], ingest["wall_s"]
    values = {
        "office_units_per_s": round(units / wall, 1),
        "office_load_units_per_s": round(units / ingest["stages_s"]["load"], 1),
        "office_big_sheet_peak_rss_mb": round(sheet_rss, 1),
        "office": {
            "files": ingest["files"], "units": units, "chunks": ingest["chunks"], "wall_s": wall,
            "stages_s": ingest["stages_s"], "peak_rss_mb": round(ingest_rss, 1),
            "big_sheet": {"rows": args.rows, "columns": 5, "bytes": big.stat().st_size,
                          **sheet, "peak_rss_mb": round(sheet_rss, 1)},
        },
    }
    print(table(["figure", "value"], [[k, v] for k, v in values.items() if not isinstance(v, dict)]))
    update_results(values)
    return values


if __name__ == "__main__":
    main()
