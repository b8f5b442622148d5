"""Global options work before or after the command (`ragkit ask --store X "q"`)."""
from __future__ import annotations

from ragkit.cli import build_parser


def test_store_and_config_before_or_after_the_command():
    parser = build_parser()
    before = parser.parse_args(["--store", "S", "--config", "C", "ask", "q"])
    after = parser.parse_args(["ask", "q", "--store", "S", "--config", "C"])
    assert (before.store, before.config) == (after.store, after.config) == ("S", "C")
    assert parser.parse_args(["sources"]).store is None  # unset stays unset (env/config decide)


def test_every_command_has_json():
    parser = build_parser()
    for argv in (["ingest", "d"], ["ask", "q"], ["sources"], ["remove", "x"], ["check"], ["inspect", "f"],
                 ["eval", "--corpus", "c", "--questions", "q"], ["doctor"]):
        assert parser.parse_args([*argv, "--json"]).json is True
