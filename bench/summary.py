"""Final step of bench/run.sh: add the PDF figure, print the headline figures against their targets.

    .venv/bin/python bench/summary.py

``pdf_pages_per_s_over_pypdf`` comes from bench/pdf_extract.json (bench/pdf_extract.py: ragkit's
PDF chain vs pypdf alone on every shared PDF); run.sh runs that script first when the file is missing.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import BENCH, table, update_results  # noqa: E402

# key, target text, test (None: reported, no target)
TARGETS = [
    ("ingest_over_raw_embed", "<= 1.25", lambda v: v <= 1.25),
    ("ingest_over_llamaindex", "<= 0.8", lambda v: v <= 0.8),
    ("ingest_over_raw_embed_float32", "", None),
    ("ingest_over_llamaindex_bfloat16", "", None),
    ("hybrid_p50_ms_10k", "", None),
    ("hybrid_p50_ms_100k", "<= 60", lambda v: v <= 60),
    ("hybrid_dense_p50_ms_100k", "<= 60", lambda v: v <= 60),
    ("hybrid_filtered_p50_ms_100k", "", None),
    ("hybrid_filtered_over_unfiltered_100k", "<= 1.2", lambda v: v <= 1.2),
    ("hybrid_scattered_filter_over_unfiltered_100k", "<= 1.2", lambda v: v <= 1.2),
    ("hybrid_collection_over_every_100k", "<= 1.2", lambda v: v <= 1.2),
    ("gen_tps_over_llama_cpp", ">= 0.95", lambda v: v >= 0.95),
    ("pdf_pages_per_s_over_pypdf", "", None),
    ("office_units_per_s", "", None),
    ("office_big_sheet_peak_rss_mb", "", None),
    ("ingest_peak_rss_mb_10k", "", None),
    ("ingest_peak_rss_mb_100k", "sub-linear", None),
    ("serve_warm_over_cli_cold", "<= 0.1", lambda v: v <= 0.1),
]


def main() -> dict:
    pdf = BENCH / "pdf_extract.json"
    values = {}
    if pdf.is_file():
        values["pdf_pages_per_s_over_pypdf"] = json.loads(pdf.read_text())["results"]["ragkit"]["speed_vs_pypdf"]
    data = update_results(values)
    rows = []
    for key, target, ok in TARGETS:
        value = data.get(key)
        if value is None:
            verdict = "missing"
        elif key == "ingest_peak_rss_mb_100k" and data.get("ingest_peak_rss_mb_10k"):
            growth = value / data["ingest_peak_rss_mb_10k"]
            scale = data.get("scale", {})
            try:
                more = scale["100k"]["ingest"]["chunks"] / scale["10k"]["ingest"]["chunks"]
            except (KeyError, TypeError, ZeroDivisionError):
                more = 10.0
            verdict = f"x{growth:.2f} for x{more:.1f} chunks: " + ("ok" if growth < more else "MISSED")
        else:
            verdict = "" if ok is None else ("ok" if ok(value) else "MISSED")
        rows.append([key, value if value is not None else "-", target, verdict])
    m = data["machine"]
    print(f"\nbench/results.json  {data['date']}  {m['cores']} cores, {m['cpu_model']}, load {m['load_avg_1_5_15']}")
    print(table(["figure", "value", "target", "verdict"], rows))
    return data


if __name__ == "__main__":
    main()
