"""Property tests: whatever bytes a user's label or predictions file holds, the parsers either return well-formed
arrays or raise DataError naming the file; no other exception, no silent nonsense."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_prep.clips import DataError, read_labels
from data_prep.importers import read_tracknetv3_csv
from evaluation.predictions import read_track

NAMES = [f"{i:04d}.jpg" for i in range(3)]
cells = st.one_of(st.sampled_from(["", "0", "1", "2", "3", "4", "-1", "1.5", "nan", "inf", "1e400", "x", "0000.jpg",
                                   "0001.jpg", "0002.jpg", "640", "719.9", "1280.5", " 3 "]),
                  st.text(max_size=6))
rows = st.lists(st.lists(cells, min_size=0, max_size=6), min_size=0, max_size=5)
headers = st.sampled_from(["file name,code,x,y,q", "File Name,Visibility Class,X,Y,Trajectory Pattern",
                           "Frame,Ball,x,y", "frame,code,x,y", "", "garbage"])
settings_ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def write(tmp_path, header, body, raw=b""):
    path = tmp_path / "file.csv"
    text = "\n".join([header] + [",".join(r) for r in body]) + "\n"
    path.write_bytes(text.encode("utf-8", "surrogatepass") + raw)
    return path


@settings_
@given(header=headers, body=rows, raw=st.binary(max_size=8))
def test_label_parser_total(tmp_path, header, body, raw):
    path = write(tmp_path, header, body, raw)
    try:
        labels = read_labels(path, NAMES, (1280, 720))
    except DataError as error:
        assert str(error).startswith(str(path))
        return
    assert labels.codes.shape == (3,) and set(labels.codes) <= {0, 1, 2, 3}
    visible = labels.codes > 0
    assert np.isfinite(labels.xy).all() and (labels.xy[~visible] == -1).all()
    assert ((labels.xy[visible] >= 0) & (labels.xy[visible] <= [1280, 720])).all()


@settings_
@given(header=headers, body=rows, raw=st.binary(max_size=8))
def test_tracknetv3_parser_total(tmp_path, header, body, raw):
    path = write(tmp_path, header, body, raw)
    try:
        codes, xy = read_tracknetv3_csv(path)
    except DataError as error:
        assert str(error).startswith(str(path))
        return
    assert set(codes) <= {0, 1} and np.isfinite(xy).all() and len(codes) == len(xy)


@settings_
@given(header=headers, body=rows, raw=st.binary(max_size=8))
def test_predictions_parser_total(tmp_path, header, body, raw):
    path = write(tmp_path, header, body, raw)
    try:
        track = read_track(path, 3)
    except DataError as error:
        assert str(error).startswith(str(path))
        return
    assert track.codes.shape == (3,) and np.isfinite(track.xy).all()
