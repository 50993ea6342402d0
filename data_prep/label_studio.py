"""Label Studio round trip: tracker output -> Label Studio tasks with predictions, Label Studio export -> clips.

Usage::

    python -m data_prep.label_studio export TRACK_CSV VIDEO --out DIR [--fps F] [--box-px 10] [--tolerance-px 0.25]
    python -m data_prep.label_studio export ROOT --out DIR [--predictions FOLDER] [--document-root DOCROOT]
    python -m data_prep.label_studio import EXPORT.json --out ROOT [--media-root DIR] [--game G]
                                        [--labels ball=1,ball_hard=2,ball_occluded=3] [--overwrite]

Export writes ``DIR/config.xml`` (the labelling config to paste into the project's Labeling Interface) and
``DIR/tasks.json`` (tasks with the tracker's positions as predictions, i.e. pre-annotations):

Media are served by Label Studio's local files: start it with ``LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true
LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=DOCROOT`` and add a Local Storage (Settings -> Cloud Storage -> Local files,
no sync needed) on a folder *below* DOCROOT (Label Studio refuses DOCROOT itself); URLs are
``/data/local-files/?d=PATH-BELOW-DOCROOT``. ``--document-root`` sets DOCROOT; by default it is the parent of the
folder the media live in, so the storage is that folder.

* a track (``export TRACK_CSV VIDEO``): one video task. The video is hard-linked (else copied) into DIR (the
  storage; DOCROOT defaults to DIR's parent). Each run of consecutive frames with one code becomes one
  ``videorectangle`` region (a box of ``--box-px`` around the ball, shrunk symmetrically at the frame edge so it
  stays on the frame and keeps its centre) with keyframes where linear interpolation would miss the track by more
  than ``--tolerance-px``, its last keyframe disabled (the ball leaves there). The task carries ``fps`` and the
  config reads ``frameRate="$fps"``: Label Studio numbers frames from the frame rate, so a wrong rate would shift
  every keyframe.
* a data set (``export ROOT``): image tasks, one per frame (``KeyPointLabels``: one click per frame), URLs
  ``/data/local-files/?d=ROOTNAME/gameG/clipC/0000.jpg`` (the storage is ROOT; DOCROOT defaults to its parent).
  Images, not videos: the frames stay byte-exact (no re-encoding) and the import puts them back into the same
  ``gameG/clipC``. Pre-annotations come from ``--predictions`` (``game{G}_clip{C}.csv`` as evaluate.py writes
  them) or else from the clips' own ``labels.csv`` (to review and correct existing labels).

Import reads Label Studio's JSON export (``Export -> JSON``; the list of tasks with ``annotations``):

* video tasks: every ``videorectangle`` region is resolved per frame exactly as Label Studio's editor does
  (``web/libs/editor/src/regions/VideoRegion.js`` ``isInLifespan`` / ``closestKeypoint`` and
  ``VideoRectangleRegion.js`` ``getShape``): frames are numbered from 1; nothing before the first keyframe; on a
  keyframe its own box (even a disabled one: a disabled keyframe is the last frame shown); between a keyframe and
  the next the linear interpolation of x, y, width, height (rotation the short way round) when the earlier
  keyframe is enabled, nothing when it is disabled; after the last keyframe its box until the video ends, when
  enabled. The box centre (rotation about the top-left corner, as Konva draws it) is the ball. A
  ``timelinelabels`` region whose label is a visibility name sets the code of the frames in its ranges. The video
  is decoded (``iter_video_frames``) and written as JPEG frames; frames without a ball are code 0.
* image tasks (``keypointlabels``, ``rectanglelabels``; the box centre is the ball): one task per frame image,
  grouped into clips by the image's folder and ordered by file name; a ``choices`` result naming a visibility
  sets the frame's code. Frames are hard-linked (else copied).
* codes come from the label names (``--labels``, default ``ball=1,ball_hard=2,ball_occluded=3``); percent becomes
  pixels with the media's real size and the half-pixel shift of the project's convention (pixel i has its centre
  at x = i; Label Studio's 0 % is the image's left edge), clamped onto the frame when the centre lies within it.
* target clips: a folder named ``.../gameG/clipC`` or a video named ``gameG_clipC.*`` keeps G and C; anything
  else goes to game ``--game`` with the next free clip numbers, in task order.
* each task uses its ground-truth annotation, else the most recently updated one that was not cancelled; tasks
  without one are left out (an image folder is then split into runs of labelled frames, one clip each).
* media: ``/data/local-files/?d=REL`` maps to ``MEDIA_ROOT/REL`` (MEDIA_ROOT = DOCROOT; without
  ``--media-root``, ``$LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT``); ``/data/upload/P/NAME`` to
  ``MEDIA_ROOT/upload/P/NAME``, ``MEDIA_ROOT/media/upload/P/NAME`` (MEDIA_ROOT = Label Studio's data dir) or the
  original file name (Label Studio's ``8hex-`` prefix removed) in MEDIA_ROOT; a plain path is taken as is, then
  under MEDIA_ROOT, then beside the export.

What it cannot take raises :class:`~data_prep.clips.DataError` naming the export, the task id and the frame: two
balls in one frame, a missing video or image, an unknown label, a region of a type it does not read.
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import shutil
import sys
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data_prep.atomic import write_text_atomic
from data_prep.clips import (
    DataError,
    Labels,
    discover_clips,
    image_size,
    write_labels,
)
from data_prep.events import EVENT_NAMES
from data_prep.importers import (
    _atomic_clip,
    _check_free,
    _clip_path,
    _frame_name,
    _place_frame,
    _write_jpeg,
)
from data_prep.tracks import TrackFile, read_track_file
from data_prep.video import count_video_frames, iter_video_frames, video_fps

log = logging.getLogger(__name__)

DEFAULT_LABELS: dict[str, int] = {"ball": 1, "ball_hard": 2, "ball_occluded": 3}
BOX_PX = 10.0  # side of the pre-annotation box around the ball, in pixels
TOLERANCE_PX = 0.25  # a keyframe is added where linear interpolation would miss the track by more than this
MODEL_VERSION = "tracker"
VIDEO_NAMES = ("video", "box", "visibility")  # Video / VideoRectangle / Labels names in the exported config
EVENTS_NAME = "events"  # the TimelineLabels of hits and bounces: one-frame ranges, read back into labels.csv's q
EVENT_CODES = {name: code for code, name in enumerate(EVENT_NAMES) if name}  # hit 1, bounce 2
IMAGE_NAMES = ("image", "ball")  # Image / KeyPointLabels names
_UPLOAD_PREFIX = re.compile(r"[0-9a-f]{8}-(.+)")  # Label Studio prefixes uploaded file names with 8 hex digits


# ---------------------------------------------------------------------------------------------------- config

def video_config(labels: Mapping[str, int] = DEFAULT_LABELS) -> str:
    """The labelling config of a video project: one ``VideoRectangle`` with a label per visibility name."""
    video, box, names = VIDEO_NAMES
    options = "\n".join(f'    <Label value="{name}"/>' for name in labels)
    events = "\n".join(f'    <Label value="{name}"/>' for name in EVENT_CODES)
    return (f'<View>\n  <Video name="{video}" value="$video" frameRate="$fps"/>\n'
            f'  <VideoRectangle name="{box}" toName="{video}"/>\n'
            f'  <Labels name="{names}" toName="{video}">\n{options}\n  </Labels>\n'
            f'  <TimelineLabels name="{EVENTS_NAME}" toName="{video}">\n{events}\n  </TimelineLabels>\n</View>\n')


def image_config(labels: Mapping[str, int] = DEFAULT_LABELS) -> str:
    """The labelling config of an image project: one ``KeyPointLabels`` point per frame."""
    image, points = IMAGE_NAMES
    options = "\n".join(f'    <Label value="{name}"/>' for name in labels)
    return (f'<View>\n  <Image name="{image}" value="$image"/>\n'
            f'  <KeyPointLabels name="{points}" toName="{image}" strokeWidth="2">\n{options}\n'
            f'  </KeyPointLabels>\n</View>\n')


def parse_label_map(text: str) -> dict[str, int]:
    """``'ball=1,ball_hard=2'`` -> ``{'ball': 1, 'ball_hard': 2}``; codes must be 1, 2 or 3."""
    mapping = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, code = item.rpartition("=")
        if not sep or not name.strip() or code.strip() not in ("1", "2", "3"):
            raise ValueError(f"--labels item {item!r} is not NAME=CODE with CODE 1, 2 or 3")
        mapping[name.strip()] = int(code)
    if not mapping:
        raise ValueError("--labels names no label")
    return mapping


# ---------------------------------------------------------------------------------------------------- geometry

def box_centre(value: Mapping, size: tuple[int, int]) -> tuple[float, float]:
    """Centre of a Label Studio box (percent ``x, y, width, height``, ``rotation`` in degrees) in Label Studio's
    continuous pixels (0 = the image's left / top edge). Konva rotates about the top-left corner, clockwise on
    screen (y points down)."""
    width, height = size
    x, y = value["x"] / 100 * width, value["y"] / 100 * height
    w, h = value["width"] / 100 * width, value["height"] / 100 * height
    angle = math.radians(value.get("rotation") or 0.0)
    c, s = math.cos(angle), math.sin(angle)
    return x + w / 2 * c - h / 2 * s, y + w / 2 * s + h / 2 * c


def _normalize_angle(angle: float) -> float:
    """Label Studio's ``normalizeAngle`` (utils/props.ts): any angle onto (-180, 180]."""
    a = angle
    while a > 0:
        a -= 360
    return math.fmod(a - 180, 360) + 180


def _interpolate(start: Mapping, end: Mapping, frame: int, prop: str) -> float:
    """Label Studio's ``interpolateProp``: linear in the frame number; rotation along the shorter arc."""
    r = (frame - start["frame"]) / (end["frame"] - start["frame"])
    if prop == "rotation":
        a, b = start.get(prop) or 0.0, end.get(prop) or 0.0
        return _normalize_angle(a + _normalize_angle(b - a) * r)
    return start[prop] + (end[prop] - start[prop]) * r


BOX_PROPS = ("x", "y", "width", "height", "rotation")


def region_boxes(sequence: Sequence[Mapping], n_frames: int) -> list[dict | None]:
    """The box of one ``videorectangle`` region on frames 1..n_frames (index 0 is frame 1), None where not shown.

    Mirrors Label Studio's editor: ``isInLifespan(frame)`` takes the last keyframe at or before the frame (none:
    not shown; a disabled one still shows on its own frame) and ``getShape(frame)`` returns the keyframe on the
    frame, else interpolates between the neighbouring keyframes, else holds the last one.
    """
    keys = sorted(sequence, key=lambda item: item["frame"])  # stable: equal frames keep Label Studio's order
    out: list[dict | None] = []
    k = -1  # index of the last keyframe at or before the frame
    for frame in range(1, n_frames + 1):
        while k + 1 < len(keys) and keys[k + 1]["frame"] <= frame:
            k += 1
        if k < 0:
            out.append(None)
            continue
        last = keys[k]
        if last["frame"] != frame and not last.get("enabled", True):
            out.append(None)
            continue
        exact = next((item for item in keys if item["frame"] == frame), None)  # getShape: the first one
        if exact is not None:
            out.append({prop: exact.get(prop) or 0.0 for prop in BOX_PROPS})
        elif k + 1 < len(keys):
            out.append({prop: _interpolate(last, keys[k + 1], frame, prop) for prop in BOX_PROPS})
        else:
            out.append({prop: last.get(prop) or 0.0 for prop in BOX_PROPS})
    return out


def _to_pixel(u: float, v: float, size: tuple[int, int], where: str, source: Path) -> tuple[float, float]:
    """Label Studio's continuous pixels -> the project's (pixel centres at integers), clamped onto the frame."""
    width, height = size
    if not (-0.5 <= u <= width + 0.5 and -0.5 <= v <= height + 0.5):  # percent rounding may overshoot an edge
        raise DataError(source, f"{where}: ball centre ({u - 0.5:.1f}, {v - 0.5:.1f}) is off the {width}x{height} "
                                "frame")
    # rounded to 1e-6 px: percent -> pixel leaves float noise (19.999999999999996) that labels.csv would truncate
    return (round(min(max(u - 0.5, 0.0), width - 1.0), 6), round(min(max(v - 0.5, 0.0), height - 1.0), 6))


# ---------------------------------------------------------------------------------------------------- import

@dataclass(frozen=True)
class _Clip:
    """One clip to write: where it came from, its frames (a video or image files) and labels."""

    game: int
    clip: int
    labels: Labels
    video: Path | None = None
    images: tuple[Path, ...] = ()
    origin: str = ""


def load_export(path: Path) -> list[dict]:
    """The tasks of a Label Studio JSON export (a list of tasks; a single task object is accepted too)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DataError(path, f"cannot read: {error.strerror or error}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(path, f"not a JSON file: {error}") from None
    tasks = [data] if isinstance(data, dict) else data
    if not isinstance(tasks, list) or not all(isinstance(t, dict) and isinstance(t.get("data"), dict) for t in tasks):
        raise DataError(path, "not a Label Studio JSON export (a list of tasks with 'data'); export with "
                              "Export -> JSON, not JSON-MIN or CSV")
    return tasks


def pick_annotation(task: Mapping) -> dict | None:
    """The annotation to import: ground truth first, then the most recently updated one not cancelled."""
    kept = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
    if not kept:
        return None
    return max(kept, key=lambda a: (bool(a.get("ground_truth")), a.get("updated_at") or "", a.get("id") or 0))


def resolve_media(url: str, media_root: Path | None, export_dir: Path) -> list[Path]:
    """The local files a task's media URL may be, in the order tried (see the module docstring)."""
    parsed = urllib.parse.urlparse(url)
    roots = [media_root] if media_root is not None else []
    if parsed.path.rstrip("/").endswith("/data/local-files") or parsed.path.endswith("/data/local-files/"):
        rel = urllib.parse.parse_qs(parsed.query).get("d", [""])[0]
        candidates = [root / rel for root in roots]
        if Path(rel).is_absolute():
            candidates.append(Path(rel))
        root_env = os.environ.get("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT")
        if root_env:
            candidates.append(Path(root_env) / rel)
        return candidates
    path = urllib.parse.unquote(parsed.path)
    name = Path(path).name
    original = m.group(1) if (m := _UPLOAD_PREFIX.fullmatch(name)) else name
    if "/data/upload/" in path:
        tail = path.split("/data/upload/", 1)[1]
        return [c for root in roots for c in (root / "upload" / tail, root / "media" / "upload" / tail,
                                               root / name, root / original)]
    if parsed.scheme in ("", "file"):
        return [Path(path), *(root / path.lstrip("/") for root in roots), export_dir / path, export_dir / name]
    return [c for root in roots for c in (root / name, root / original)]  # http(s), s3, gs: a local copy by name


def _media_path(task: Mapping, key: str, media_root: Path | None, source: Path) -> Path:
    url = str(task["data"][key])
    candidates = resolve_media(url, media_root, source.parent)
    found = next((path for path in candidates if path.is_file()), None)
    if found is None:
        tried = ", ".join(str(p) for p in candidates) or "nothing (pass --media-root)"
        raise DataError(source, f"task {task.get('id')}: {key} {url!r} not found locally; tried {tried}")
    return found


def _code(names: Sequence[str], labels: Mapping[str, int], where: str, source: Path) -> int:
    if len(names) != 1:
        raise DataError(source, f"{where}: {len(names)} labels {list(names)}; a ball takes exactly one of "
                                f"{list(labels)}")
    if names[0] not in labels:
        raise DataError(source, f"{where}: unknown label {names[0]!r}; known: {list(labels)} (see --labels)")
    return labels[names[0]]


def _task_kind(task: Mapping, source: Path) -> str:
    data = task["data"]
    if "video" in data:
        return "video"
    if "image" in data:
        return "image"
    raise DataError(source, f"task {task.get('id')}: data has neither 'video' nor 'image' (keys {sorted(data)})")


def video_labels(task: Mapping, annotation: Mapping, size: tuple[int, int], n_frames: int,
                 labels: Mapping[str, int], source: Path) -> Labels:
    """Per-frame labels of one video task from its annotation's ``videorectangle`` and ``timelinelabels``."""
    tid = task.get("id")
    codes, xy = np.zeros(n_frames, np.int64), np.full((n_frames, 2), -1.0)
    owner: list[str | None] = [None] * n_frames
    overrides = []
    events = None  # hits and bounces, when the annotation marks any (then every other frame is flying: 0)
    for result in annotation.get("result") or []:
        kind, value, rid = result.get("type"), result.get("value") or {}, result.get("id")
        if kind == "timelinelabels" and result.get("from_name") == EVENTS_NAME:
            events = np.zeros(n_frames, np.int64) if events is None else events
            names = value.get("timelinelabels") or []
            if len(names) != 1 or names[0] not in EVENT_CODES:
                raise DataError(source, f"task {tid} event region {rid}: label {names!r} is not one of "
                                        f"{', '.join(EVENT_CODES)}")
            for r in value.get("ranges") or []:
                events[max(int(r["start"]), 1) - 1:min(int(r["end"]), n_frames)] = EVENT_CODES[names[0]]
            continue
        if kind == "timelinelabels":
            names = value.get("timelinelabels") or []
            code = _code(names, labels, f"task {tid} timeline region {rid}", source)
            overrides += [(int(r["start"]), int(r["end"]), code, rid) for r in value.get("ranges") or []]
            continue
        if kind in ("labels", "choices") and not value.get("sequence"):
            continue  # the label list of a region, stored on its own by some versions; the region carries it too
        if kind != "videorectangle":
            raise DataError(source, f"task {tid} region {rid}: type {kind!r} is not read (video tasks take "
                                    "videorectangle and timelinelabels)")
        code = _code(value.get("labels") or [], labels, f"task {tid} region {rid}", source)
        sequence = value.get("sequence") or []
        for item in sequence:
            frame = item.get("frame")
            if not isinstance(frame, int) or frame < 1:
                raise DataError(source, f"task {tid} region {rid}: keyframe frame {frame!r} is not a whole number "
                                        ">= 1 (Label Studio numbers video frames from 1)")
            _check_numbers(item, ("x", "y", "width", "height"), f"task {tid} region {rid} keyframe frame {frame}",
                           source)
            if frame > n_frames:
                log.warning("%s: task %s region %s: keyframe at frame %d past the video's %d frames is ignored",
                            source, tid, rid, frame, n_frames)
        for i, box in enumerate(region_boxes(sequence, n_frames)):
            if box is None:
                continue
            where = f"task {tid} region {rid} frame {i + 1} (index {i})"
            if owner[i] is not None:
                raise DataError(source, f"task {tid} frame {i + 1} (index {i}): two balls, regions {owner[i]} and "
                                        f"{rid}; one ball per frame")
            owner[i] = str(rid)
            codes[i] = code
            xy[i] = _to_pixel(*box_centre(box, size), size, where, source)
    for start, end, code, rid in overrides:
        for frame in range(max(start, 1), min(end, n_frames) + 1):
            if codes[frame - 1] == 0:
                raise DataError(source, f"task {tid} timeline region {rid} frame {frame} (index {frame - 1}): "
                                        "a visibility label on a frame without a ball")
            codes[frame - 1] = code
    return Labels(codes, xy, events if events is not None else np.full(n_frames, -1, np.int64))


def image_label(task: Mapping, annotation: Mapping, size: tuple[int, int], labels: Mapping[str, int],
                source: Path) -> tuple[int, tuple[float, float]]:
    """(code, (x, y)) of one image task; code 0 and (-1, -1) without a ball."""
    tid = task.get("id")
    balls, choice = [], None
    for result in annotation.get("result") or []:
        kind, value, rid = result.get("type"), result.get("value") or {}, result.get("id")
        where = f"task {tid} region {rid}"
        if kind == "choices":
            choice = _code(value.get("choices") or [], labels, f"task {tid} choice {rid}", source)
            continue
        if kind not in ("keypointlabels", "rectanglelabels", "keypoint", "rectangle"):
            raise DataError(source, f"{where}: type {kind!r} is not read (image tasks take keypointlabels, "
                                    "rectanglelabels and choices)")
        declared = result.get("original_width"), result.get("original_height")
        if declared[0] and declared[1] and tuple(declared) != tuple(size):
            raise DataError(source, f"{where}: labelled on a {declared[0]}x{declared[1]} image, the file "
                                    f"{task['data']['image']!r} maps to is {size[0]}x{size[1]}")
        names = value.get(kind if kind.endswith("labels") else "labels") or value.get("labels") or []
        code = _code(names, labels, where, source)
        _check_numbers(value, ("x", "y") if kind.startswith("keypoint") else ("x", "y", "width", "height"), where,
                       source)
        if kind.startswith("keypoint"):
            u, v = value["x"] / 100 * size[0], value["y"] / 100 * size[1]
        else:
            u, v = box_centre(value, size)
        balls.append((code, _to_pixel(u, v, size, where, source), rid))
    if len(balls) > 1:
        raise DataError(source, f"task {tid} frame {task['data']['image']!r}: two balls, regions "
                                f"{[b[2] for b in balls]}; one ball per frame")
    if not balls:
        if choice is not None:
            raise DataError(source, f"task {tid}: a visibility choice on a frame without a ball")
        return 0, (-1.0, -1.0)
    code, point, _ = balls[0]
    return (choice if choice is not None else code), point


def _check_numbers(value: Mapping, fields: Sequence[str], where: str, source: Path) -> None:
    """Each of ``fields`` is a finite number in ``value`` (a missing one would read as 0: a ball in the corner)."""
    for field in fields:
        number = value.get(field)
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
            raise DataError(source, f"{where}: no {field!r} (a number), got {number!r}")


def _named_target(path: Path, video: bool) -> tuple[int, int] | None:
    if video:
        m = re.fullmatch(r"game(\d+)_clip(\d+)", path.stem, flags=re.IGNORECASE)
    else:
        m = re.fullmatch(r"game(\d+)/clip(\d+)", f"{path.parent.name}/{path.name}", flags=re.IGNORECASE)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _natural(path: Path) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name))


def plan_import(export: Path, *, media_root: Path | None = None, labels: Mapping[str, int] = DEFAULT_LABELS,
                game: int = 1) -> list[_Clip]:
    """Read and check a whole export before anything is written; returns the clips to write."""
    export = Path(export)
    tasks = load_export(export)
    videos, skipped = [], []
    folders: dict[Path, list[tuple[Path, dict, dict | None]]] = {}  # folder -> (image, task, annotation or None)
    for task in tasks:
        annotation = pick_annotation(task)
        kind = _task_kind(task, export)
        if annotation is None:
            skipped.append(task.get("id"))
        if kind == "video":
            if annotation is not None:
                videos.append((task, annotation, _media_path(task, "video", media_root, export)))
            continue
        try:
            path = _media_path(task, "image", media_root, export)
        except DataError:
            if annotation is None:
                continue  # not imported anyway
            raise
        folders.setdefault(path.parent, []).append((path, task, annotation))  # unannotated ones split the folder
    if skipped:
        log.warning("%s: %d task(s) without an annotation left out: %s", export, len(skipped), skipped)
    planned: list[tuple[tuple[int, int] | None, dict]] = []
    for task, annotation, video in videos:
        n = count_video_frames(video)
        first = next(iter_video_frames(video, 1))
        size = first.shape[1], first.shape[0]
        declared = next((r.get("value", {}).get("framesCount") for r in annotation.get("result") or []
                         if r.get("type") == "videorectangle"), None)
        if declared and abs(int(declared) - n) > 1:
            log.warning("%s: task %s: Label Studio counted %s frames, %s decodes %d: is the config's frameRate the "
                        "video's?", export, task.get("id"), declared, video.name, n)
        clip_labels = video_labels(task, annotation, size, n, labels, export)
        planned.append((_named_target(video, True), {"labels": clip_labels, "video": video,
                                                     "origin": f"task {task.get('id')} {video.name}"}))
    for folder, entries in sorted(folders.items()):
        runs: list[list[tuple[Path, dict, dict]]] = [[]]
        for entry in sorted(entries, key=lambda e: _natural(e[0])):
            if entry[2] is None:
                runs.append([])
            else:
                runs[-1].append(entry)
        runs = [run for run in runs if run]
        for k, run in enumerate(runs):
            size = image_size(run[0][0])
            codes, xy = np.zeros(len(run), np.int64), np.full((len(run), 2), -1.0)
            for i, (path, task, annotation) in enumerate(run):
                if i and image_size(path) != size:
                    raise DataError(export, f"task {task.get('id')}: {path} is not {size[0]}x{size[1]} like the "
                                            "folder's first frame")
                codes[i], xy[i] = image_label(task, annotation, size, labels, export)
            target = _named_target(folder, False) if len(runs) == 1 else None
            planned.append((target, {"labels": Labels(codes, xy, np.full(len(run), -1, np.int64)),
                                     "images": tuple(path for path, _, _ in run),
                                     "origin": f"{folder} part {k + 1}/{len(runs)}"}))
    if not planned:
        raise DataError(export, "no annotated task to import")
    used = {t for t, _ in planned if t is not None}
    clips, next_clip = [], 1
    for target, fields in planned:
        if target is None:
            while (game, next_clip) in used:
                next_clip += 1
            target = (game, next_clip)
            used.add(target)
        clips.append(_Clip(*target, **fields))
    targets = [(c.game, c.clip) for c in clips]
    if len(set(targets)) != len(targets):
        raise DataError(export, f"two tasks map to one clip: {sorted(t for t in targets if targets.count(t) > 1)}")
    return clips


def import_export(export: Path, out: Path, *, media_root: Path | None = None,
                  labels: Mapping[str, int] = DEFAULT_LABELS, game: int = 1, link: bool = True,
                  overwrite: bool = False) -> list[Path]:
    """Import a Label Studio JSON export into ``out/gameG/clipC``; returns the written clip folders in order."""
    clips = plan_import(export, media_root=media_root, labels=labels, game=game)
    out = Path(out)
    _check_free(out, [(c.game, c.clip) for c in clips], overwrite)
    # Every clip is staged before any is published: the media may lie inside a clip this import replaces (an
    # export of ROOT's own frames imported back with --overwrite), so none may go before all are read.
    with contextlib.ExitStack() as publish:
        for clip in clips:
            tmp = publish.enter_context(_atomic_clip(out, clip.game, clip.clip, labelled=True, overwrite=overwrite))
            if clip.video is not None:
                names = []
                for i, frame in enumerate(iter_video_frames(clip.video, len(clip.labels))):
                    names.append(_frame_name(i, ".jpg"))
                    _write_jpeg(tmp / names[-1], frame)
                if len(names) != len(clip.labels):
                    raise DataError(clip.video, f"decodes {len(names)} frames, counted {len(clip.labels)} before")
            else:
                names = [_frame_name(i, path.suffix) for i, path in enumerate(clip.images)]
                for path, name in zip(clip.images, names):
                    _place_frame(path, tmp / name, link)
            write_labels(tmp / "labels.csv", clip.labels, names)
    for clip in clips:
        log.info("%s -> game%d/clip%d (%d frames, %d with a ball)", clip.origin, clip.game, clip.clip,
                 len(clip.labels), int(clip.labels.visible.sum()))
    return [_clip_path(out, clip.game, clip.clip) for clip in clips]


# ---------------------------------------------------------------------------------------------------- export

def _edge_box(u: float, v: float, size: tuple[int, int], box_px: float) -> dict:
    """A box of ``box_px`` around (u, v) (continuous pixels), shrunk symmetrically to stay on the frame; percent."""
    width, height = size
    half_w = min(box_px / 2, u, width - u)
    half_h = min(box_px / 2, v, height - v)
    return {"x": (u - half_w) / width * 100, "y": (v - half_h) / height * 100,
            "width": 2 * half_w / width * 100, "height": 2 * half_h / height * 100, "rotation": 0}


def keyframe_indices(points: np.ndarray, tolerance: float) -> list[int]:
    """Indices into ``points`` (m, 2) to keep as keyframes so that linear interpolation between consecutive kept
    points (by index, as Label Studio interpolates by frame) stays within ``tolerance`` pixels of every point.
    Greedy: each segment runs as far as it fits. ``tolerance`` 0 keeps every point."""
    m = len(points)
    keep, i = [0], 0
    while i < m - 1:
        j = i + 1
        while j + 1 < m and tolerance > 0:
            t = (np.arange(i + 1, j + 1) - i)[:, None] / (j + 1 - i)
            line = points[i] + t * (points[j + 1] - points[i])
            if np.abs(line - points[i + 1:j + 1]).max() > tolerance:
                break
            j += 1
        keep.append(j)
        i = j
    return keep


def track_predictions(codes: np.ndarray, xy: np.ndarray, size: tuple[int, int], fps: float, *,
                      labels: Mapping[str, int] = DEFAULT_LABELS, box_px: float = BOX_PX,
                      tolerance_px: float = TOLERANCE_PX) -> list[dict]:
    """``videorectangle`` results for a per-frame track: one region per run of frames with one code > 0.

    codes: (n,) int64, 0 = no ball; xy: (n, 2) pixels (pixel centres at integers). Keyframe frames are 1-based.
    """
    names = {code: name for name, code in reversed(list(labels.items()))}  # the first name of each code
    n = len(codes)
    results = []
    start = 0
    while start < n:
        code = int(codes[start])
        stop = start + 1
        while stop < n and codes[stop] == code:
            stop += 1
        if code > 0:
            if code not in names:
                raise ValueError(f"code {code} at frame {start} has no label name in {dict(labels)}")
            # continuous pixels, at least half a pixel inside the frame so that the box never has zero size
            centres = np.clip(xy[start:stop] + 0.5, 0.5, np.array(size, np.float64) - 0.5)
            keep = keyframe_indices(centres, tolerance_px)
            if keep[-1] != stop - start - 1:
                keep.append(stop - start - 1)
            sequence = []
            for k in keep:
                frame = start + k + 1
                sequence.append({"frame": frame, "enabled": True, "time": frame / fps,
                                 **_edge_box(*centres[k], size, box_px)})
            sequence[-1]["enabled"] = False  # the ball leaves after the run's last frame
            results.append({"id": f"ball{start}", "type": "videorectangle", "from_name": VIDEO_NAMES[1],
                            "to_name": VIDEO_NAMES[0], "origin": "prediction",
                            "value": {"framesCount": n, "duration": n / fps, "sequence": sequence,
                                      "labels": [names[code]]}})
        start = stop
    return results


def _place(src: Path, dst: Path) -> None:
    """Hard-link (else copy) ``src`` to ``dst``, replacing ``dst`` unless it already is ``src``."""
    if dst.exists():
        if dst.samefile(src):
            return
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def export_track(track_csv: Path, video: Path, out_dir: Path, *, labels: Mapping[str, int] = DEFAULT_LABELS,
                 box_px: float = BOX_PX, tolerance_px: float = TOLERANCE_PX, fps: float | None = None,
                 url: str | None = None, document_root: Path | None = None) -> Path:
    """Write ``out_dir/tasks.json`` (one video task whose prediction is the track) and ``out_dir/config.xml``.

    ``track_csv`` is track.py's ``track.csv`` (``frame,code,x,y``, one row per frame of ``video``). Unless ``url``
    says where Label Studio finds the video, it is hard-linked (else copied) into ``out_dir`` and referred to as
    ``/data/local-files/?d=OUT/NAME`` relative to ``document_root`` (default: the parent of ``out_dir``; Label
    Studio refuses a Local Storage on the document root itself, so the storage is ``out_dir``). ``fps`` defaults to
    the video's own rate. Returns the tasks.json path.
    """
    track_csv, video, out_dir = Path(track_csv), Path(video), Path(out_dir)
    track = read_track_csv(track_csv)
    codes, xy = track.codes, track.xy
    first = next(iter_video_frames(video, 1))
    size = first.shape[1], first.shape[0]
    n = count_video_frames(video)
    if len(codes) > n:
        raise DataError(track_csv, f"{len(codes)} rows but {video.name} decodes {n} frames")
    if len(codes) < n:
        log.info("%s: %d rows for %d frames (tracked with --max-frames?): the rest has no prediction",
                 track_csv, len(codes), n)
    fps = fps or video_fps(video)
    out_dir.mkdir(parents=True, exist_ok=True)
    if url is None:
        _place(video, out_dir / video.name)
        url = local_files_url(_relative(out_dir / video.name, document_root or out_dir.parent))
    results = track_predictions(codes, xy, size, fps, labels=labels, box_px=box_px, tolerance_px=tolerance_px)
    for result in results:  # Label Studio's own export counts frames from the browser; give it the decoded count
        result["value"]["framesCount"], result["value"]["duration"] = n, n / fps
    results += event_predictions(track.column("event"))
    task = {"data": {"video": url, "fps": fps},
            "predictions": [{"model_version": MODEL_VERSION, "result": results}]}
    return _write_project(out_dir, [task], video_config(labels))


def event_predictions(events: list[str]) -> list[dict]:
    """``timelinelabels`` results (one-frame ranges, 1-based) for track.csv's ``event`` cells (``hit``, ``bounce``)."""
    return [{"id": f"event{i}", "type": "timelinelabels", "from_name": EVENTS_NAME, "to_name": VIDEO_NAMES[0],
             "origin": "prediction", "value": {"ranges": [{"start": i + 1, "end": i + 1}], "timelinelabels": [name]}}
            for i, name in enumerate(events) if name in EVENT_CODES]


def _relative(path: Path, root: Path) -> Path:
    try:
        return path.resolve().relative_to(Path(root).resolve())
    except ValueError:
        raise ValueError(f"{path} is not under the local-files document root {root}") from None


def local_files_url(rel: str | Path) -> str:
    """Label Studio's URL of a file under ``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT``."""
    return "/data/local-files/?d=" + urllib.parse.quote(Path(rel).as_posix())


def _write_project(out_dir: Path, tasks: list[dict], config: str) -> Path:
    (out_dir / "config.xml").write_text(config)
    path = out_dir / "tasks.json"
    write_text_atomic(path, json.dumps(tasks, indent=1))
    log.info("%d task(s) -> %s, labelling config -> %s", len(tasks), path, out_dir / "config.xml")
    return path


def read_track_csv(path: Path) -> TrackFile:
    """track.py's ``track.csv`` (``frame,code,x,y``, frames 0, 1, 2, ...), x = y = -1 where the code is 0."""
    track = read_track_file(path)
    track.require_frames_from(0)
    track.xy[track.codes == 0] = -1.0
    return track


def export_dataset(root: Path, out_dir: Path, *, predictions: Path | None = None,
                   labels: Mapping[str, int] = DEFAULT_LABELS, document_root: Path | None = None) -> Path:
    """Write image tasks (one per frame of every clip under ``root``) with pre-annotations, and the config.

    Points come from ``predictions/game{G}_clip{C}.csv`` (``frame,code,x,y``) when given, else from the clips'
    labels; a clip with neither gets tasks without predictions. Image URLs are relative to ``document_root``
    (Label Studio's ``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT``; default the parent of ``root``, whose Local
    Storage is then ``root``). Returns the tasks.json path.
    """
    root, out_dir = Path(root), Path(out_dir)
    names = {code: name for name, code in reversed(list(labels.items()))}
    tasks = []
    for clip in discover_clips(root, require_labels=False):
        if predictions is not None:
            track = read_track_csv(Path(predictions) / f"{clip.name}.csv")
            codes, xy = track.codes, track.xy
            if len(codes) != len(clip):
                raise DataError(Path(predictions) / f"{clip.name}.csv", f"{len(codes)} rows for {len(clip)} frames")
        elif clip.labels is not None:
            codes, xy = clip.labels.codes, clip.labels.xy
        else:
            codes = None
        width, height = clip.size
        for i, frame in enumerate(clip.frames):
            task = {"data": {"image": local_files_url(_relative(frame, document_root or root.parent))}}
            if codes is not None:
                result = []
                if codes[i] > 0:
                    u, v = min(max(xy[i, 0] + 0.5, 0), width), min(max(xy[i, 1] + 0.5, 0), height)
                    result.append({"id": f"ball{i}", "type": "keypointlabels", "from_name": IMAGE_NAMES[1],
                                   "to_name": IMAGE_NAMES[0], "original_width": width, "original_height": height,
                                   "image_rotation": 0,
                                   "value": {"x": u / width * 100, "y": v / height * 100, "width": 0.5,
                                             "keypointlabels": [names[int(codes[i])]]}})
                task["predictions"] = [{"model_version": MODEL_VERSION, "result": result}]
            tasks.append(task)
    out_dir.mkdir(parents=True, exist_ok=True)
    return _write_project(out_dir, tasks, image_config(labels))


if __name__ == "__main__":  # the command line is cli/label_studio.py
    from cli.label_studio import main

    sys.exit(main())
