"""Overlay videos play everywhere (H.264 mp4 / VP9 webm, yuv420p, even size) and their trail breaks with the track."""
import av
import numpy as np
import pytest

from evaluation.predictions import Track
from evaluation.visualize import VideoSink, draw_track, trail_segments


def frames(n: int, size=(65, 49)) -> list[np.ndarray]:
    """n RGB frames of an odd size, each a different grey so a dropped frame would show."""
    width, height = size
    return [np.full((height, width, 3), 10 + 20 * i, np.uint8) for i in range(n)]


def decoded(path) -> tuple[str, str, int, tuple[int, int], float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(stream))
        ctx = stream.codec_context
        return ctx.name, ctx.pix_fmt, count, (ctx.width, ctx.height), float(stream.average_rate)


@pytest.mark.parametrize("suffix, codec", [(".mp4", "h264"), (".webm", "vp9")])
def test_video_decodes_back_with_every_frame(tmp_path, suffix, codec, capfd):
    with VideoSink(tmp_path / f"overlay{suffix}", fps=25) as sink:
        for frame in frames(12):
            sink.write(frame)
    assert sink.path == tmp_path / f"overlay{suffix}"
    name, pix_fmt, count, size, fps = decoded(sink.path)
    assert (name, pix_fmt, count, size) == (codec, "yuv420p", 12, (64, 48))
    assert fps == pytest.approx(25)
    assert "not supported" not in capfd.readouterr().err  # OpenCV's VP80 tag complaint is gone


def test_fractional_frame_rate(tmp_path):
    with VideoSink(tmp_path / "ntsc.mp4", fps=30000 / 1001) as sink:
        for frame in frames(3):
            sink.write(frame)
    assert decoded(sink.path)[4] == pytest.approx(29.97, abs=0.01)


def test_trail_breaks_at_absent_frames_and_jumps():
    codes = np.array([1, 1, 1, 0, 1, 1, 1, 1])
    xy = np.array([[10, 10], [12, 10], [14, 10], [-1, -1], [20, 10], [22, 10], [400, 300], [402, 300]], float)
    track = Track(codes, xy)
    pairs = [(tuple(a), tuple(b)) for a, b in trail_segments(track, 7, length=7, max_jump=50)]
    assert pairs == [((10, 10), (12, 10)), ((12, 10), (14, 10)), ((20, 10), (22, 10)), ((400, 300), (402, 300))]


def test_no_line_drawn_across_a_gap():
    codes, xy = np.array([1, 0, 1]), np.array([[10.0, 70.0], [-1, -1], [90.0, 70.0]])
    last = list(draw_track(frames(3, (120, 100)), Track(codes, xy)))[-1]
    between = last[68:73, 30:70]  # where the straight line from (10, 70) to (90, 70) would run, below the caption
    assert np.all(between == frames(3)[2][0, 0])
    joined = list(draw_track(frames(3, (120, 100)), Track(np.array([1, 1, 1]), xy[[0, 0, 2]])))[-1]
    assert not np.all(joined[68:73, 30:70] == frames(3)[2][0, 0])  # a real 80 px flight is drawn
