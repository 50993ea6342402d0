"""The demo's plan and its cache removal (the demo itself is measured, not run in the suite: README)."""
from __future__ import annotations

from cli import demo


def test_the_demo_trains_on_games_it_never_scores():
    train, val, test = demo.demo_games()
    assert len(train) == demo.DEMO_TRAIN_GAMES
    assert not set(train) & set(val) and not set(train) & set(test) and not set(val) & set(test)


def test_remove_caches_deletes_the_cache_folder_only(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    (cache / "frames" / "clip").mkdir(parents=True)
    (cache / "frames" / "clip" / "a.npy").write_bytes(b"x" * 1000)
    (tmp_path / "data").mkdir()
    monkeypatch.setattr(demo, "CACHE_ROOT", cache)
    result = demo.main(["--remove-caches"])
    assert result["bytes"] == 1000 and not cache.exists() and (tmp_path / "data").is_dir()
    assert "removed" in capsys.readouterr().out
