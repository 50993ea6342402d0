"""``train.py --stage all``: both stages, the bundle and the held-out report as one resumable command, and
``--init`` (fine-tuning from trained weights) refusing a network of another shape."""
import json
import shutil

import pytest

import train
from cli import recipe
from cli.recipe import recipe_argv

TINY = ("--width 160 --height 96 --crop-width 96 --crop-height 64 --steps-per-epoch 4 --batch-size 4 "
        "--warmup-steps 2 --epochs 1")


def test_recipe_trains_both_stages_bundles_and_scores_the_test_game_then_a_rerun_does_nothing(
        ball_data, tiny_runs, tmp_path, capsys):
    out = tmp_path / "run"
    cache = f"--cache {tmp_path / 'cache' / 'frames'}"
    argv = ["--stage", "all", "--data", str(ball_data), "--val-games", "2", "--test-games", "3", "--out", str(out),
            "--init", str(tiny_runs["bundle"]), "--wandb", "off",
            "--proposal-flags", f"{TINY} {cache}", "--refine-flags", f"--steps-per-epoch 4 --epochs 1 {cache}"]
    assert train.cli(argv) == 0
    for stage in ("proposal", "refine"):
        config = json.loads((out / stage / "config.json").read_text())
        assert config["games"] == [1] and config["val_games"] == [2]  # game 3 is the test game: never trained on
        assert config["init"] == str(tiny_runs["bundle"])
    report = json.loads((out / "held_out.json").read_text())
    losses = report["recall_losses"]
    assert losses["balls"] > 0
    assert losses["found"] + losses["lost_proposal"] + losses["lost_refiner"] + losses["lost_decoder"] == losses["balls"]
    assert {"proposal", "refine", "tracker"} <= set(report)
    clips = report["tracker_clips"]
    assert [row["clip"] for row in clips] and sum(row["frames"] for row in clips) == report["tracker"]["frames"]
    assert sum(row["sibatracc"] for row in clips) / len(clips) == pytest.approx(report["tracker"]["sibatracc"])
    stamps = {path: path.stat().st_mtime_ns for path in (out / "proposal" / "best.pt", out / "tracker.pt")}
    assert train.cli(argv) == 0  # everything is there: nothing is trained or bundled again
    assert {path: path.stat().st_mtime_ns for path in stamps} == stamps


def test_a_test_game_in_training_is_refused(ball_data, tmp_path, capsys):
    argv = ["--stage", "all", "--data", str(ball_data), "--games", "1", "3", "--val-games", "2",
            "--test-games", "3", "--out", str(tmp_path / "run")]
    assert train.cli(argv) == 2
    assert "--test-games" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_init_with_another_network_names_the_difference(ball_data, tiny_runs, tmp_path, capsys):
    argv = ["--stage", "proposal", "--data", str(ball_data), "--games", "1", "--val-games", "2", "--widths", "8",
            "16", "32", "48", "--init", str(tiny_runs["bundle"]), "--out", str(tmp_path / "run"), "--wandb", "off",
            *TINY.split()]
    assert train.cli(argv) == 2
    err = capsys.readouterr().err
    assert "--init" in err and "widths [16, 32, 64, 96] (config [8, 16, 32, 48])" in err


@pytest.mark.parametrize("argv, rest", [(["--stage", "all", "--data", "D"], ["--data", "D"]),
                                        (["--data", "D", "--stage=all"], ["--data", "D"]),
                                        (["--stage", "proposal"], None)])
def test_stage_all_is_found_wherever_it_is_typed(argv, rest):
    assert recipe_argv(argv) == rest


def test_with_embedded_val_reaches_the_decoder_calibration(ball_data, tmp_path, monkeypatch):
    bundled = []
    monkeypatch.setattr(recipe, "ensure_trained", lambda run, stage, cfg: None)  # stages trained already
    monkeypatch.setattr(recipe, "bundle_tracker", lambda *args, **kwargs: bundled.append(kwargs))
    monkeypatch.setattr(recipe, "print_bundle", lambda out, result: None)
    recipe.main(["--data", str(ball_data), "--val-games", "2", "--with-embedded-val", "--out", str(tmp_path / "run")])
    (kwargs,) = bundled
    assert kwargs["with_embedded_val"] and kwargs["val_games"] == [2]


def test_a_rerun_with_other_data_or_games_is_refused(ball_data, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(recipe, "ensure_trained", lambda run, stage, cfg: None)  # stages trained already
    monkeypatch.setattr(recipe, "bundle_tracker", lambda *args, **kwargs: None)
    monkeypatch.setattr(recipe, "print_bundle", lambda out, result: None)
    out = tmp_path / "run"
    first = ["--stage", "all", "--data", str(ball_data), "--games", "1", "--val-games", "2", "--out", str(out)]
    assert train.cli(first) == 0
    other = shutil.copytree(ball_data, tmp_path / "other")
    for changed in (["--val-games", "3"], ["--data", str(other)], ["--proposal-flags", "--epochs 3"]):
        assert train.cli(first + changed) == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert err.startswith(f"error: {out}: started with other flags (") and "another --out" in err
    assert train.cli(first + ["--wandb", "off"]) == 0  # how it logs is not what it trains


def test_flags_typed_for_a_stage_win_over_the_recipes_own():
    from cli.train import stage_config

    cfg = stage_config("proposal", "--seed 3 --epochs 2", seed=0, games=[1], max_minutes=5.0)
    assert (cfg.seed, cfg.epochs, cfg.games, cfg.max_minutes) == (3, 2, [1], 5.0)
