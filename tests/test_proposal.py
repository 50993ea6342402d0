"""Stage 1: shapes, candidate extraction with sub-cell precision, learning on a tiny batch, train/resume."""
import json
from dataclasses import asdict

import numpy as np
import pytest
import torch

import train
from data_prep.stacks import heatmap_targets
from engine.config import ProposalConfig
from engine.loop import autocast_dtype, budget_pace, cpu_has_amx, epochs_within_budget
from model.checkpoint import CheckpointError, load_checkpoint
from model.proposal import (
    STRIDE,
    ProposalLoss,
    ProposalNet,
    ProposalNetArgs,
    build_proposal,
    cells_to_pixels,
)
from model import peaks
from tracking.weights import load_proposal


def extract_candidates(logits: torch.Tensor, offset: torch.Tensor, k: int, radius: float = 1.0):
    """:func:`model.peaks.extract_candidates` on tensors, as these tests build them."""
    xy, score = peaks.extract_candidates(logits.numpy(), offset.numpy(), k, radius)
    return torch.from_numpy(xy), torch.from_numpy(score)


def test_shapes_and_finite():
    net = ProposalNet(frames=3)
    logits, offset = net(torch.rand(2, 3, 3, 96, 160))
    assert logits.shape == (2, 3, 24, 40) and offset.shape == (2, 3, 2, 24, 40)
    assert torch.isfinite(logits).all() and ((offset >= -1) & (offset <= 2)).all()  # within offset_reach 1
    with pytest.raises(AssertionError, match="multiples of 16"):
        net(torch.rand(1, 3, 3, 90, 160))


def test_signed_diffs_tell_where_the_ball_arrived_from_where_it_left():
    from model.proposal import build_proposal

    frames = torch.zeros(1, 3, 3, 32, 48)
    for t, col in enumerate((8, 20, 32)):  # a bright dot moving right
        frames[0, t, :, 16, col] = 1.0
    signed = ProposalNet(frames=3).input_channels(frames)[0, 9:]
    assert signed[0, 16, 20] > 0 > signed[0, 16, 8] and signed[1, 16, 32] > 0 > signed[1, 16, 20]
    old_args = {"frames": 3, "widths": [16, 32, 64, 96], "diffs": True, "backbone": "compact"}  # before 1c15148
    for unsigned in (old_args, {**old_args, "offset_reach": 0, "signed_diffs": False}):  # |diff|: 1c15148's code
        with pytest.raises(CheckpointError, match="absolute frame differences"):
            build_proposal(unsigned)
    shipped = {**old_args, "offset_reach": 1, "signed_diffs": True, "peak_radius": 1.0}  # weights/tracker.pt's
    assert build_proposal(shipped).args == build_proposal(asdict(ProposalNet().args)).args == ProposalNet().args


def test_input_channels_are_each_frames_colours_then_the_differences_laid_out_channels_last():
    frames = torch.rand(2, 3, 3, 32, 48)
    x = ProposalNet(frames=3).input_channels(frames)
    assert x.shape == (2, 11, 32, 48) and x.is_contiguous(memory_format=torch.channels_last)
    for t in range(3):
        torch.testing.assert_close(x[:, 3 * t:3 * t + 3], frames[:, t] - 0.5)
    gray = frames.mean(dim=2)
    torch.testing.assert_close(x[:, 9:], (gray[:, 1:] - gray[:, :-1]) * 4)


def test_candidates_recover_known_peaks_to_subpixel():
    logits = torch.full((1, 24, 40), -9.0)
    offset = torch.zeros(1, 2, 24, 40)
    peaks = [((7, 5), (0.25, 0.75), 4.0), ((30, 18), (0.5, 0.1), 2.0)]
    for (col, row), (dx, dy), value in peaks:
        logits[0, row, col] = value
        offset[0, :, row, col] = torch.tensor([dx, dy])
    for dc, dr in ((1, 0), (0, 1), (1, 1)):  # weaker neighbours pointing at the first peak's point: no candidates
        logits[0, 5 + dr, 7 + dc] = 3.0
        offset[0, :, 5 + dr, 7 + dc] = torch.tensor([0.25 - dc, 0.75 - dr])
    xy, score = extract_candidates(logits, offset, k=3)
    expected = cells_to_pixels(torch.tensor([[7.25, 5.75], [30.5, 18.1]]))
    torch.testing.assert_close(xy[0, :2], expected)
    assert score[0, 0] == pytest.approx(torch.sigmoid(torch.tensor(4.0)).item())
    assert score[0, 2] < 0.01  # the third pick is background


def test_a_weaker_peak_one_cell_from_a_brighter_one_keeps_its_candidate():
    logits = torch.full((1, 24, 40), -9.0)
    offset = torch.full((1, 2, 24, 40), 0.5)  # every cell points at its own centre
    logits[0, 10, 20], logits[0, 10, 21] = 3.0, 1.0  # a bright distractor and, in the next cell, a faint ball
    offset[0, 0, 10, 21] = 0.8  # 1.3 cells (10 full-res px at 640 wide) from the distractor's point
    xy, score = extract_candidates(logits, offset, k=2)
    torch.testing.assert_close(xy[0], cells_to_pixels(torch.tensor([[20.5, 10.5], [21.8, 10.5]])))
    assert score[0, 1] == pytest.approx(torch.sigmoid(torch.tensor(1.0)).item())
    assert extract_candidates(logits, offset, k=2, radius=1.5)[1][0, 1] < 0.01  # a wider radius merges them


def test_radius_zero_is_the_max_pool_of_the_older_weights_which_they_load_with():
    logits = torch.full((1, 24, 40), -9.0)
    offset = torch.full((1, 2, 24, 40), 0.5)
    logits[0, 10, 20], logits[0, 10, 21], logits[0, 3, 5] = 3.0, 1.0, 0.0
    offset[0, 0, 10, 21] = 0.8
    xy, score = extract_candidates(logits, offset, k=3, radius=0)  # the faint ball next to the distractor is lost
    torch.testing.assert_close(xy[0, :2], cells_to_pixels(torch.tensor([[20.5, 10.5], [5.5, 3.5]])))
    assert score[0, 2] < 0.01
    old = {k: v for k, v in asdict(ProposalNet(frames=3).args).items() if k != "peak_radius"} | {"signed_diffs": True}
    assert build_proposal(old).args.peak_radius == 0


def test_no_two_candidates_are_within_the_radius():
    torch.manual_seed(0)
    logits, offset = torch.randn(6, 24, 40) * 3, torch.rand(6, 2, 24, 40) * 3 - 1
    xy, score = extract_candidates(logits, offset, k=8, radius=1.0)
    gaps = torch.cdist(xy, xy) + torch.eye(8) * 1e9  # input pixels; a cell is STRIDE of them
    assert (gaps > STRIDE).all() and (score[:, :-1] >= score[:, 1:]).all()


def test_targets_and_candidates_round_trip():
    xy = np.array([[37.3, 21.8], [-1, -1], [100.9, 60.2]])
    present = np.array([True, False, True])
    t = heatmap_targets(xy, present, np.ones(3), (24, 40))
    assert t["has_ball"].tolist() == [True, False, True] and t["heat"][1].max() == 0
    logits = torch.from_numpy(np.where(t["heat"] >= 1, 5.0, -5.0)).float()
    offset = torch.zeros(3, 2, 24, 40)
    for i in (0, 2):
        col, row = t["cell"][i]
        offset[i, :, row, col] = torch.from_numpy(t["offset"][i])
    found, _ = extract_candidates(logits, offset, k=1)
    np.testing.assert_allclose(found[[0, 2], 0].numpy(), xy[[0, 2]], atol=1e-4)


def test_offset_reach_lets_a_neighbouring_peak_point_at_the_ball():
    net = ProposalNet(frames=3, offset_reach=1)
    _, offset = net(torch.rand(2, 3, 3, 96, 160))
    assert ((offset >= -1) & (offset <= 2)).all() and offset.min() < 0 < 1 < offset.max()
    xy = np.array([[37.3, 21.8], [4.0, 4.0], [158.0, 90.0]])  # the last two sit in corner cells: neighbours clip
    t = heatmap_targets(xy, np.ones(3, bool), np.ones(3), (24, 40))
    targets = {k: torch.from_numpy(v)[None] for k, v in t.items()}
    exact = torch.zeros(1, 3, 2, 24, 40)
    for i in range(3):
        col, row = t["cell"][i]
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                if 0 <= row + dr < 24 and 0 <= col + dc < 40:
                    exact[0, i, :, row + dr, col + dc] = torch.from_numpy(t["offset"][i]) - torch.tensor([dc, dr])
    logits = torch.zeros(1, 3, 24, 40)
    criterion = ProposalLoss(offset_reach=1)
    assert criterion(logits, exact, targets)["offset"].item() == pytest.approx(0, abs=1e-6)
    centre_only = exact.clone()
    centre_only[0, 0, :, t["cell"][0][1] + 1, t["cell"][0][0]] = 0.5  # one neighbour wrong: the loss sees it
    assert criterion(logits, centre_only, targets)["offset"].item() > 0.01
    assert ProposalLoss(offset_reach=0)(logits, centre_only, targets)["offset"].item() == pytest.approx(0, abs=1e-6)
    # a peak one cell below the ball still reports the ball's position
    col, row = t["cell"][0]
    peak = torch.full((1, 24, 40), -9.0)
    peak[0, row + 1, col] = 5.0
    found, _ = extract_candidates(peak, exact[:, 0], k=1)
    np.testing.assert_allclose(found[0, 0].numpy(), xy[0], atol=1e-4)


def test_a_few_steps_lower_the_loss():
    torch.manual_seed(0)
    net, criterion = ProposalNet(frames=3), ProposalLoss()
    frames = torch.rand(2, 3, 3, 64, 96) * 0.3
    xy = np.array([[40.0, 30.0], [44.0, 28.0], [48.0, 27.0]])
    for t, (x, y) in enumerate(xy):
        frames[:, t, :, int(y) - 1:int(y) + 2, int(x) - 1:int(x) + 2] = 1.0
    targets = {k: torch.from_numpy(v)[None].expand(2, *v.shape) for k, v in
               heatmap_targets(xy, np.ones(3, bool), np.ones(3), (64 // STRIDE, 96 // STRIDE)).items()}
    optimizer = torch.optim.AdamW(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        loss = criterion(*net(frames), targets)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


TINY = ["--stage", "proposal", "--games", "1", "2", "--val-games", "3", "--width", "160", "--height", "96",
        "--crop-width", "96", "--crop-height", "64", "--steps-per-epoch", "3", "--batch-size", "4",
        "--warmup-steps", "2", "--wandb", "off"]


def test_train_checkpoint_and_resume_match_an_uninterrupted_run(ball_data, tmp_path):
    common = TINY + ["--data", str(ball_data), "--cache", str(tmp_path / "cache")]
    straight = train.main(common + ["--epochs", "2", "--out", str(tmp_path / "a")])
    # interrupted: the same run stopped after its first epoch by a tiny time budget
    train.main(common + ["--epochs", "2", "--max-minutes", "1e-6", "--out", str(tmp_path / "b")])
    assert load_checkpoint(tmp_path / "b" / "last.pt")["epoch"] == 0
    resumed = train.main(["--stage", "proposal", "--resume", str(tmp_path / "b")])  # the saved config carries on
    a, b = load_checkpoint(tmp_path / "a" / "last.pt"), load_checkpoint(tmp_path / "b" / "last.pt")
    assert a["epoch"] == b["epoch"] == 1 and a["step"] == b["step"] == 6
    for key in ("model", "train_model"):  # the weight average (validated, shipped) and the optimised weights
        for name, tensor in a[key].items():
            torch.testing.assert_close(tensor, b[key][name], msg=f"{key}.{name}")
    assert not torch.equal(a["model"]["heat.weight"], a["train_model"]["heat.weight"])
    assert straight["score"] == pytest.approx(resumed["score"])
    again = train.main(["--stage", "proposal", "--resume", str(tmp_path / "a")])  # finished: nothing to train
    assert again["score"] == straight["score"] and load_checkpoint(tmp_path / "a" / "last.pt")["step"] == 6
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["last_score"] == straight["score"]
    stage = load_proposal(tmp_path / "a" / "best.pt")  # rebuilt from the checkpoint alone
    assert stage.spec.size == (160, 96) and 0 < stage.threshold < 1


def test_epochs_within_budget():
    assert epochs_within_budget(20, 2, 5.0, 2.4, 28.0) == 11  # a slow machine: 9 more epochs of 2.4 min fit
    assert epochs_within_budget(20, 2, 2.0, 1.0, 28.0) == 20  # a fast one keeps every epoch configured
    assert epochs_within_budget(20, 2, 29.0, 2.4, 28.0) == 2  # the budget is spent: stop after the done ones


def test_one_slow_epoch_does_not_shorten_the_budget_plan():
    assert budget_pace([1.6]) == 1.6  # after epoch 1, slowed by another job beside it
    assert budget_pace([1.6, 1.0]) == 1.3 and budget_pace([1.6, 1.0, 1.0]) == 1.0  # revised after epochs 2 and 3
    assert epochs_within_budget(40, 4, 4.8, budget_pace([1.6, 1.0, 1.0]), 28.0) == 27


def test_a_time_budget_fits_the_learning_rate_schedule_to_the_epochs_that_fit(ball_data, tmp_path, monkeypatch):
    monkeypatch.setattr("engine.train.epochs_within_budget", lambda epochs, done, *_: 3)  # as a slow machine would find
    common = TINY + ["--data", str(ball_data), "--cache", str(tmp_path / "cache"), "--max-minutes", "1000"]
    train.main(common + ["--epochs", "6", "--out", str(tmp_path / "a")])
    last = load_checkpoint(tmp_path / "a" / "last.pt")
    assert last["epoch"] == 2 and last["planned_epochs"] == 3
    assert last["optimizer"]["param_groups"][0]["lr"] == pytest.approx(0.01 * ProposalConfig.lr)  # cosine ended on time


class PeakNet(torch.nn.Module):
    """Stands in for ProposalNet: one known peak per frame at cell (col 20, row 10) + (0.5, 0.25)."""

    frames, args = 3, ProposalNetArgs(peak_radius=1.0)

    def forward(self, x):
        b, t, _, height, width = x.shape
        logits = torch.full((b, t, height // STRIDE, width // STRIDE), -9.0)
        logits[:, :, 10, 20] = 5.0
        offset = torch.zeros(b, t, 2, height // STRIDE, width // STRIDE)
        offset[:, :, 0, 10, 20], offset[:, :, 1, 10, 20] = 0.5, 0.25
        return logits, offset


def test_candidates_scale_each_axis_to_the_full_frame():
    from data_prep.clips import scale_points
    from tracking.candidates import propose_clip

    frames = np.zeros((5, 64, 128, 3), np.uint8)  # the network input, 2:1
    candidates = propose_clip(PeakNet(), frames, full_size=(640, 480), k=1)  # a 4:3 source
    low = cells_to_pixels(torch.tensor([20.5, 10.25])).numpy()
    np.testing.assert_allclose(candidates.xy[:, 0], np.tile(scale_points(low, (640 / 128, 480 / 64)), (5, 1)))


class PlaceNet(torch.nn.Module):
    """Heatmap probability = (place of the frame in its stack + 1) / 4 everywhere; offset = the first frame of the
    stack (in x) and the place (in y), so each frame's mean over its stacks is known."""

    frames, args = 3, ProposalNetArgs(peak_radius=1.0)

    def forward(self, x):
        b, t, _, height, width = x.shape
        place = torch.arange(t, dtype=torch.float32)[None, :, None, None].expand(b, t, height // 4, width // 4)
        first = x[:, 0, 0, 0, 0] * 255  # frame i is filled with the value i
        offset = torch.stack([first[:, None, None, None].expand_as(place), place], dim=2)
        return torch.logit((place + 1) / 4), offset


def test_the_temporal_ensemble_averages_each_frame_over_every_stack_that_holds_it():
    from tracking.candidates import propose_stacks

    n = 7
    frames = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None, None], (n, 16, 16, 3))
    seen = []
    for indices, logits, offset in propose_stacks(PlaceNet(), frames, batch=2, ensemble=True):
        for i, lg, off in zip(indices, logits, offset):
            stacks = [s for s in range(n - 2) if s <= i < s + 3]  # the stacks holding frame i
            places = [i - s for s in stacks]
            np.testing.assert_allclose(1 / (1 + np.exp(-lg)), np.mean([(p + 1) / 4 for p in places]), rtol=1e-5)
            np.testing.assert_allclose(off[0], np.mean(stacks), rtol=1e-5)
            np.testing.assert_allclose(off[1], np.mean(places), rtol=1e-5)
            seen.append(i)
    assert seen == list(range(n))  # every frame once, in order, as soon as its last stack has run


def test_mixed_precision_where_the_hardware_has_it_and_only_when_asked():
    assert autocast_dtype(torch.device("cpu"), amp=True) is None  # a stage must ask for it on the CPU
    assert autocast_dtype(torch.device("cpu"), amp=False, cpu=True) is None
    assert autocast_dtype(torch.device("cpu"), amp=True, cpu=True) == (torch.bfloat16 if cpu_has_amx() else None)
    if torch.cuda.is_available():
        assert autocast_dtype(torch.device("cuda"), amp=False) is None
        wanted = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        assert autocast_dtype(torch.device("cuda"), amp=True) == wanted


def test_loss_is_computed_in_full_precision_from_bfloat16_outputs():
    """Under CPU autocast the net's outputs are bfloat16; log(1 - p) there would round p = 1e-3 to nothing."""
    torch.manual_seed(0)
    logits, offset = torch.randn(2, 3, 8, 8) - 7, torch.rand(2, 3, 2, 8, 8)
    targets = {"heat": torch.zeros(2, 3, 8, 8), "has_ball": torch.zeros(2, 3, dtype=torch.bool),
               "weight": torch.ones(2, 3), "offset": torch.zeros(2, 3, 2),
               "cell": torch.zeros(2, 3, 2, dtype=torch.long)}
    criterion = ProposalLoss(1.0, 1)
    low = criterion(logits.bfloat16(), offset.bfloat16(), targets)
    full = criterion(logits.bfloat16().float(), offset.bfloat16().float(), targets)
    assert low["loss"].dtype == torch.float32
    torch.testing.assert_close(low["loss"], full["loss"])
