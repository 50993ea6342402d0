"""The background input of the proposal: medians that drop what moves, cached per segment, cropped and augmented
with the frames of a stack, and the same in the streaming tracker as offline."""
import cv2
import numpy as np
import pytest
import torch

from data_prep.augment import stack_transform
from data_prep.background import SEGMENT, median_background, segment_backgrounds
from data_prep.clips import discover_clips, load_clip, read_frame
from data_prep.frame_cache import FrameCache
from data_prep.stacks import ProposalStacks, StackSpec
from model.proposal import ProposalNet, build_proposal
from tests.conftest import write_ball_clip
from tracking.candidates import propose_clip
from tracking.tracker import Tracker
from tracking.weights import ProposalStage


def test_the_median_drops_a_ball_that_stays_put_for_under_half_the_window():
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 200, (24, 32, 3), dtype=np.uint8)
    frames = np.repeat(scene[None], 16, axis=0)
    for i in range(16):  # still for 7 frames (a toss's apex, a ball in the hand), then flying off
        x = 10 if i < 7 else 10 + 2 * (i - 6)
        frames[i, 12:14, x:x + 2] = 255
    np.testing.assert_array_equal(median_background(frames), scene)
    frames[:9, 12:14, 10:12] = 255  # still for more than half the window: it becomes part of the scene
    assert (median_background(frames)[12:14, 10:12] == 255).all()


def test_each_segment_takes_the_median_of_itself_and_its_two_neighbours():
    frames = [np.full((2, 2, 3), i, np.uint8) for i in range(10)]  # frame i is grey level i
    backgrounds = segment_backgrounds(frames, segment=4)
    assert backgrounds.shape == (3, 2, 2, 3)
    # windows 0-7, 0-9 and 4-9; torch's median is the lower middle value
    assert backgrounds[:, 0, 0, 0].tolist() == [3, 4, 6]


def test_backgrounds_are_cached_beside_the_frames(make_clip, tmp_path):
    clip = load_clip(make_clip(n=6, size=(64, 48)))
    cache = FrameCache(tmp_path / "cache", progress=False)
    first = cache.backgrounds(clip, (32, 16))
    assert first.shape == (1, 16, 32, 3) and first.dtype == np.uint8
    path = next((tmp_path / "cache").rglob("bg-*.npy"))
    mtime = path.stat().st_mtime_ns
    again = cache.backgrounds(clip, (32, 16))
    assert path.stat().st_mtime_ns == mtime and isinstance(again, np.memmap)
    np.testing.assert_array_equal(again, first)
    np.testing.assert_array_equal(first[0], median_background(cache.frames(clip, (32, 16))))


@pytest.fixture
def still_clip(tmp_path):
    """A clip whose frames are all one image (with its ball labelled in the middle): the background is that image."""
    write_ball_clip(tmp_path / "data" / "game1" / "clip1", n=8)
    clip = discover_clips(tmp_path / "data", [1])[0]
    first = read_frame(clip.frames[0])
    for path in clip.frames:
        cv2.imwrite(str(path), cv2.cvtColor(first, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 100])
    return discover_clips(tmp_path / "data", [1])[0]


def test_a_training_stack_carries_its_background_through_the_same_crop_and_augmentation(still_clip, tmp_path):
    spec = StackSpec(3, 160, 96)
    cache = FrameCache(tmp_path / "cache", progress=False)
    stacks = ProposalStacks([still_clip], spec, cache, stack_transform("train"), crop=(96, 64), background=True,
                            misfit_prob=0.0)
    for item in range(len(stacks)):
        sample = stacks[item]
        assert sample["background"].shape == (3, 64, 96)
        # every frame is the background image: any flip, shift, rotation or colour change shared by the stack
        # leaves them equal (up to the JPEG round trip of the frames)
        assert (sample["background"] - sample["frames"][1]).abs().mean() < 0.02
    plain = ProposalStacks([still_clip], spec, cache, background=False)
    assert "background" not in plain[0]


def test_a_misfit_background_is_a_frame_of_the_clip(tmp_path):
    write_ball_clip(tmp_path / "data" / "game1" / "clip1", n=12)
    clip = discover_clips(tmp_path / "data", [1])[0]
    cache = FrameCache(tmp_path / "cache", progress=False)
    spec = StackSpec(3, 160, 96)
    frames = torch.from_numpy(np.asarray(cache.frames(clip, spec.size))).permute(0, 3, 1, 2).float() / 255
    stacks = ProposalStacks([clip], spec, cache, background=True, misfit_prob=1.0)
    for item in range(3):
        background = stacks[item]["background"]
        assert min((background - frame).abs().max() for frame in frames) == 0
    fitting = ProposalStacks([clip], spec, cache, background=True, misfit_prob=0.0)[0]["background"]
    median = torch.from_numpy(np.asarray(cache.backgrounds(clip, spec.size)[0])).permute(2, 0, 1).float() / 255
    torch.testing.assert_close(fitting, median)


def test_a_background_net_asks_for_it_and_older_args_build_without_it():
    net = ProposalNet(frames=3, background=True, signed_diffs=True)
    frames, background = torch.rand(2, 3, 3, 32, 48), torch.rand(2, 3, 32, 48)
    x = net.input_channels(frames, background)
    assert x.shape == (2, 14, 32, 48)
    torch.testing.assert_close(x[:, 11:], background - 0.5)
    logits, offset = net(frames, background)
    assert logits.shape == (2, 3, 8, 12) and offset.shape == (2, 3, 2, 8, 12)
    with pytest.raises(ValueError, match="background"):
        net(frames)
    old_args = {"frames": 3, "widths": [16, 32, 64, 96], "diffs": True, "offset_reach": 1, "backbone": "compact",
                "signed_diffs": True}
    assert build_proposal(old_args).args.background is False


def test_the_streaming_tracker_sees_the_backgrounds_of_the_offline_segments(tmp_path):
    write_ball_clip(tmp_path / "data" / "game1" / "clip1", n=2 * SEGMENT + 24, size=(1280, 720))  # the tracker works at 1280 wide
    clip = discover_clips(tmp_path / "data", [1])[0]
    for i, path in enumerate(clip.frames):  # the scene darkens over the clip: each segment has its own background
        cv2.imwrite(str(path), cv2.subtract(cv2.imread(str(path)), (i // 2, i // 2, i // 2, 0)))
    torch.manual_seed(0)
    net = ProposalNet(frames=3, background=True, signed_diffs=True).eval()
    with torch.no_grad():  # spread the scores of the untrained net, so that other inputs show in them
        net.heat.weight.mul_(50)
        net.heat.bias.zero_()
    spec = StackSpec(3, 96, 64)
    cache = FrameCache(tmp_path / "cache", progress=False)
    frames, backgrounds = cache.frames(clip, spec.size), cache.backgrounds(clip, spec.size)
    assert len(backgrounds) == 3
    offline = propose_clip(net, frames, clip.size, k=5, backgrounds=backgrounds)
    stage = ProposalStage(net, spec, threshold=0.5, path=tmp_path / "random.pt")
    for chunk in (SEGMENT, 24):  # multiples of the stack: the stacks begin where they do offline
        streamed = Tracker(stage, None, chunk=chunk).track_frames(clip.iter_frames()).candidates
        np.testing.assert_allclose(streamed.score, offline.score, atol=1e-5)
        np.testing.assert_allclose(streamed.xy, offline.xy, atol=1e-3)
    other = propose_clip(net, frames, clip.size, k=5, backgrounds=backgrounds[[1, 2, 0]])
    assert np.abs(other.score - offline.score).max() > 1e-3  # 100x the tolerance: a wrong background shows
