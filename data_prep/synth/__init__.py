"""Synthetic broadcast tennis: labelled clips in the assignment layout, rendered deterministically from a seed.

Modules, one idea each: ``camera`` (court geometry, broadcast camera), ``physics`` (ball flight), ``rally`` (points
and player movement), ``figures`` (people), ``scene`` (the static venue and TV overlay), ``ball`` (drawing the
ball), ``render`` (frames, labels, clips, data sets), ``sheet`` (contact sheets). Command line: ``python -m
data_prep.synth --help``.
"""
from .render import FPS, ClipRenderer, Frame, clip_frames, render_clip, render_dataset
from .sheet import contact_sheet

__all__ = ["FPS", "ClipRenderer", "Frame", "clip_frames", "contact_sheet", "render_clip", "render_dataset"]
