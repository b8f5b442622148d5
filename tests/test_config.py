import pytest

from ragkit.config import Settings, load_settings
from ragkit.errors import ConfigError


def test_defaults_without_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings(environ={})
    assert s == Settings()
    assert s.store == ".ragkit" and s.retrieve_mode == "hybrid"


def test_layering_file_env_override(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ragkit.toml").write_text(
        'store = "from-file"\n[llm]\nmodel_path = "/models/calm3.gguf"\nn_ctx = 8192\n[retrieve]\nk = 7\n',
        encoding="utf-8")
    s = load_settings(environ={"RAGKIT_RETRIEVE_K": "9", "RAGKIT_STORE": "from-env"})
    assert s.llm_model_path == "/models/calm3.gguf"
    assert s.llm_n_ctx == 8192
    assert s.retrieve_k == 9  # env beats file
    assert s.store == "from-env"
    s2 = load_settings(environ={"RAGKIT_STORE": "from-env"}, store="from-flag", retrieve_k=None)
    assert s2.store == "from-flag" and s2.retrieve_k == 7  # None override ignored


@pytest.mark.parametrize("toml, message", [
    ("[llm]\nmodel_pth = 'x'\n", "unknown setting"),
    ("[retrieve]\nmode = 'fuzzy'\n", "retrieve mode"),
    ("[retrieve]\nk = 'many'\n", "must be a number"),
    ("store = \n", "not valid TOML"),
])
def test_bad_config_is_a_clear_error(tmp_path, monkeypatch, toml, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ragkit.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(environ={})


def test_explicit_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_the_readme_deployment_configs_load(tmp_path):
    """The ragkit.toml files the README's first screen tells users to copy are valid settings."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    first_screen = readme[readme.index("## What the bundled model is for"):readme.index("## Two commands")]
    blocks = re.findall(r"```toml\n(.*?)```", first_screen, re.S)
    assert len(blocks) == 2
    loaded = []
    for i, block in enumerate(blocks):
        path = tmp_path / f"ragkit{i}.toml"
        path.write_text(block, encoding="utf-8")
        loaded.append(load_settings(path, environ={}))
    assert loaded[0].llm_base_url == "http://gpu-box:8080/v1" and loaded[0].llm_n_ctx == 8192
    assert loaded[1].llm_model_path.endswith(".gguf") and loaded[1].llm_max_answer_tokens == 512
