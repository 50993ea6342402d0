"""The end-to-end tracker: frames in, one ball position (or none) per frame out.

    proposal (low-res stacks) -> top-K candidates -> refiner (full-res crop stacks) -> temporal decoding

Frames are streamed in chunks: only the current chunk plus ``context`` frames on each side are held at full
resolution, so memory stays flat for videos of any length; the per-frame candidates that the decoder needs are
a few numbers each.
"""
from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from data_prep.clips import FULL_SIZE, Clip, scale_points
from data_prep.video import resize_frame
from evaluation.predictions import Track
from tracking.candidates import Candidates, Refined, propose_clip, refine_clip
from tracking.decode import DecodeParams, StreamingDecoder, decode_track
from tracking.output import ClipOutput, frame_progress, track_confidence
from tracking.nets import Bundle, ProposalStage, RefineStage, proposal_net, refine_net

log = logging.getLogger(__name__)

LIVE_CHUNK = 6  # track.py --live: frames per chunk (latency, see Tracker.live_latency)
# Frames decoded (and resized for the proposal) ahead in a reader thread while the networks run: about 1.2x the
# frames per second of none with the ONNX runtime (docs/experiments.md); 16 full frames are ~44 MB.
READ_AHEAD = 16


class Tracker:
    """Proposal + refiner + decoder with their settings; build it with :meth:`load`."""

    def __init__(self, proposal: ProposalStage, refine: RefineStage | None, decode: DecodeParams = DecodeParams(),
                 top_k: int = 5, min_score: float = 0.02, chunk: int = 48, device="cpu",
                 ensemble: bool = False, read_ahead: int = READ_AHEAD):
        context = refine.spec.context if refine is not None else 0
        assert chunk >= max(proposal.spec.frames, context), "chunk must hold a stack and the refiner's context"
        proposal = replace(proposal, model=proposal_net(proposal.model, device))  # wrapped once, not per chunk
        refine = replace(refine, model=refine_net(refine.model, device)) if refine is not None else None
        self.proposal, self.refine, self.decode = proposal, refine, decode
        self.top_k, self.min_score, self.chunk = top_k, min_score, chunk
        self.ensemble = ensemble  # the proposal's temporal ensemble (tracking.candidates.propose_stacks): ~3x its cost
        self.read_ahead = read_ahead  # frames decoded ahead in a reader thread (0: none; see READ_AHEAD)
        self.device = device  # a torch.device, or "cpu" (the ONNX runtime's)
        self.source: str = ""
        self.runtime = "torch"  # or "onnx" (set by load)

    @classmethod
    def load(cls, weights: str | Path | None = None, device: str = "auto", sha256: str | None = None,
             runtime: str = "torch", int8: bool = True, **overrides) -> Tracker:
        """From a tracker bundle: a local file, a Google Drive id or URL, or (None) the shipped default weights;
        ``sha256``: the checksum the file must have (see :func:`tracking.weights.resolve_weights`).

        A ``train.py --stage baseline`` checkpoint gives the assignment's baseline instead, with the same interface.
        ``runtime="onnx"``: the networks run by onnxruntime (:mod:`tracking.onnx_nets`); ``weights`` a folder
        written by ``python -m tracking.export`` (then torch is never imported), or a bundle as above, exported
        once into the weights cache (:func:`tracking.export.cached_export`; the baseline runs with PyTorch);
        ``int8``: with onnx, the folder's int8 networks where it has them (False: the float ones).
        """
        assert runtime in ("torch", "onnx"), f"runtime must be torch or onnx, got {runtime!r}"
        if runtime == "onnx" and weights is not None and Path(weights).is_dir():
            from tracking.onnx_nets import load_onnx_bundle

            tracker = cls.from_bundle(load_onnx_bundle(weights, int8=int8), "cpu", **overrides)
            tracker.source, tracker.runtime = str(weights), "onnx"
            return tracker
        from model.checkpoint import read_payload, resolve_device
        from tracking.baseline import BaselineTracker
        from tracking.weights import load_bundle, resolve_weights

        path = resolve_weights(weights, sha256)
        payload = read_payload(path)  # the one torch.load of the file
        if runtime == "onnx" and payload["stage"] != "baseline":
            from tracking.export import cached_export

            tracker = cls.load(cached_export(path), runtime="onnx", int8=int8, **overrides)
            tracker.source = str(path)
            return tracker
        if payload["stage"] == "baseline":
            if overrides.pop("ensemble", False):
                raise ValueError(f"{path}: the temporal ensemble is the proposal stage's; the baseline has none")
            return BaselineTracker.load(path, device, payload=payload, **overrides)
        device = resolve_device(device)
        tracker = cls.from_bundle(load_bundle(path, device, payload), device, **overrides)
        tracker.source = str(path)
        return tracker

    @classmethod
    def from_bundle(cls, bundle: Bundle, device="cpu", **overrides) -> Tracker:
        """From a loaded bundle (its stages already on ``device``), its settings overridden by ``overrides``."""
        return cls(bundle.proposal, bundle.refine, bundle.decode, **{**bundle.settings, **overrides}, device=device)

    def describe(self) -> dict:
        return {"weights": self.source, "decode": asdict(self.decode), "top_k": self.top_k,
                "min_score": self.min_score, "refine": self.refine is not None, "ensemble": self.ensemble,
                "device": str(self.device), "runtime": self.runtime}

    def track_clip(self, clip: Clip) -> Track:
        return self.track_frames(clip.iter_frames(), total=len(clip), desc=clip.name).track

    def track_frames(self, frames: Iterable[np.ndarray], total: int | None = None, desc: str = "tracking"
                     ) -> ClipOutput:
        """Track a stream of RGB frames (all of one size); positions come back in that size's pixels.

        Frames of another width than the assignment's 1280 are resized to it first (1080p, 4:3, small videos),
        since the refiner was trained on balls of 720p broadcast size. A terminal shows a progress bar named
        ``desc`` (``total``: the frame count, when known, for its ETA).
        """
        started = time.perf_counter()
        frames, back, size = self._work_size(frame_progress(frames, total, desc))
        pairs = self._with_low(frames)
        parts = list(self._chunks(read_ahead(pairs, self.read_ahead) if self.read_ahead else pairs))
        candidates = Candidates(*(np.concatenate([getattr(c, k) for c, _ in parts]) for k in ("xy", "score")))
        refined, confidence = None, None
        if self.refine is not None:
            refined = Refined(*(np.concatenate([getattr(r, k) for _, r in parts]) for k in ("prob", "xy", "code")))
            track = decode_track(refined.xy, refined.prob, refined.code, self.decode, candidates.score, size)
            confidence = track_confidence(track, refined)
        else:
            present = candidates.score[:, 0] >= self.proposal.threshold
            track = Track(present.astype(np.int64), np.where(present[:, None], candidates.xy[:, 0], -1.0))
        if back is not None:
            xy = np.where(track.codes[:, None] > 0, scale_points(track.xy, back), -1.0)
            track = Track(track.codes, xy)
        return ClipOutput(track, candidates, refined, time.perf_counter() - started, confidence)

    def track_live(self, frames: Iterable[np.ndarray], lag: int = 8, total: int | None = None
                   ) -> Iterator[tuple[int, int, np.ndarray]]:
        """Fixed-latency tracking for live use: yields (frame, code, (x, y)) once ``lag`` later frames are in.

        Candidates come chunk by chunk (use a small ``chunk`` for low latency: the delay is chunk + context + lag
        frames); each frame is decided by :class:`StreamingDecoder` and never revised.
        """
        assert self.refine is not None, "live decoding needs the refine stage"
        frames, back, size = self._work_size(frame_progress(frames, total, "tracking live"))
        decoder = StreamingDecoder(self.decode, lag=lag, size=size)

        def emit(decided):
            for frame, code, xy in decided:
                if code > 0 and back is not None:
                    xy = scale_points(xy, back)
                yield frame, code, (xy if code > 0 else np.array([-1.0, -1.0]))

        for candidates, refined in self._chunks(self._with_low(frames)):
            for t in range(len(refined.prob)):
                yield from emit(decoder.push(refined.xy[t], refined.prob[t], refined.code[t], candidates.score[t]))
        yield from emit(decoder.flush())

    def live_latency(self, lag: int) -> int:
        """Frames that arrive after a frame before :meth:`track_live` decides it, at worst (a chunk's first frame):
        the rest of its chunk, the next chunk (read ahead for the refiner's context), then ``lag``."""
        return 2 * self.chunk - 1 + lag

    def _work_size(self, frames: Iterable[np.ndarray]
                   ) -> tuple[Iterator[np.ndarray], tuple[float, float] | None, tuple[int, int]]:
        """Frames resized to the working width (1280), the per-axis factor back to the input if resized, and the
        working (width, height)."""
        frames = iter(frames)
        first = next(frames, None)
        if first is None:
            raise ValueError("no frames to track")
        frames = itertools.chain([first], frames)
        if first.shape[1] == FULL_SIZE[0]:
            return frames, None, (first.shape[1], first.shape[0])
        size = (FULL_SIZE[0], int(round(first.shape[0] * FULL_SIZE[0] / first.shape[1])))
        return (resize_frame(f, size) for f in frames), (first.shape[1] / size[0], first.shape[0] / size[1]), size

    def _with_low(self, frames: Iterable[np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(frame, the frame at the proposal's input size) of each frame: the resize is paid where the frame is
        decoded (the reader thread, with ``read_ahead``)."""
        size = self.proposal.spec.size
        return ((frame, resize_frame(frame, size)) for frame in frames)

    def _chunks(self, pairs: Iterable[tuple[np.ndarray, np.ndarray]]
                ) -> Iterator[tuple[Candidates, Refined | None]]:
        """Per chunk of (frame, low) pairs (:meth:`_with_low`): the proposal's candidates and the refiner's verdict
        on them."""
        refine = self.refine
        context = refine.spec.context if refine is not None else 0
        left: list[np.ndarray] = []
        for chunk, ahead, candidates, _ in self._proposals(pairs):
            refined = None
            if refine is not None:
                window = left + chunk + ahead[:context]
                refined = refine_clip(refine.model, window, candidates, refine.spec, device=self.device,
                                      min_score=self.min_score, frame_offset=len(left))
            left = chunk[-context:] if context else []
            yield candidates, refined

    def _proposals(self, pairs: Iterable[tuple[np.ndarray, np.ndarray]], keep_maps: bool = False
                   ) -> Iterator[tuple[list, list, Candidates, list | None]]:
        """Per chunk of (frame, low) pairs: (chunk, the frames after it, its candidates, its probability maps if
        ``keep_maps``).

        With the temporal ensemble the stacks also span the last frames of the previous chunk and the first of the
        next, so a frame at a chunk's edge is averaged over as many stacks as any other.
        """
        t = self.proposal.spec.frames
        behind: list[np.ndarray] = []  # the previous chunk's last t - 1 frames at the proposal's size
        for pair_chunk, pair_ahead in chunked(pairs, self.chunk, t):
            chunk, low_chunk = [f for f, _ in pair_chunk], [low for _, low in pair_chunk]
            ahead = [f for f, _ in pair_ahead]
            before = behind if self.ensemble else []
            after = [low for _, low in pair_ahead[:t - 1]] if self.ensemble else []
            low = before + low_chunk + after
            low += [low[-1]] * max(0, t - len(low))  # a clip shorter than a stack repeats its last frame
            full_size = (chunk[0].shape[1], chunk[0].shape[0])
            batch = getattr(self.proposal.model, "batch", 4)  # stacks per run: the ONNX net's own (OnnxProposal)
            out = propose_clip(self.proposal.model, low, full_size, self.top_k, batch=batch, device=self.device,
                               keep_maps=keep_maps, ensemble=self.ensemble)
            candidates, maps = out if keep_maps else (out, None)
            mine = slice(len(before), len(before) + len(chunk))
            maps = maps[mine] if keep_maps else None
            yield chunk, ahead, Candidates(candidates.xy[mine], candidates.score[mine]), maps
            behind = low_chunk[len(low_chunk) - (t - 1):]

    def probability_frames(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """(h, w) float32 proposal probability map of each frame, streamed chunk by chunk."""
        for _, _, _, maps in self._proposals(self._with_low(frames), keep_maps=True):
            yield from (m.astype(np.float32) for m in maps)

    def probability_maps(self, clip: Clip) -> Iterator[np.ndarray]:
        return self.probability_frames(clip.iter_frames())


def chunked(frames: Iterable[np.ndarray], size: int, min_size: int) -> Iterator[tuple[list, list]]:
    """Yield (chunk, next chunk) over a stream; a tail shorter than ``min_size`` joins the chunk before it."""
    frames = iter(frames)
    chunk = list(itertools.islice(frames, size))
    while chunk:
        following = list(itertools.islice(frames, size))
        if len(following) < min_size:
            chunk, following = chunk + following, []
        yield chunk, following
        chunk = following


def read_ahead(frames: Iterable, depth: int) -> Iterator:
    """``frames`` iterated in a reader thread, up to ``depth`` items ahead of the consumer, so that decoding (JPEG,
    video: C code that releases the GIL) overlaps with the networks. An exception in the reader is raised in the
    consumer at the item where it happened; closing the iterator early stops the reader."""
    items: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    end = object()

    def reader():
        try:
            for item in frames:
                while not stop.is_set():
                    try:
                        items.put((True, item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put((True, end))
        except BaseException as error:  # handed to the consumer, which raises it
            items.put((False, error))

    thread = threading.Thread(target=reader, daemon=True, name="frame-reader")
    thread.start()
    try:
        while True:
            ok, item = items.get()
            if not ok:
                raise item
            if item is end:
                return
            yield item
    finally:
        stop.set()
