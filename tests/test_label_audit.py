"""``python -m data_prep.label_audit audit ROOT``: labels that contradict their neighbours or the set's convention,
on small hand-made label files (1280x720 frames, so the thresholds are the documented pixels)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli import label_audit

SIZE = (1280, 720)


def rows(track):
    """Label rows from ``[(code, x, y), ...]`` (x, y ignored for code 0)."""
    return [[f"{i:04d}.jpg", code, *(("", "") if code == 0 else (x, y)), ""] for i, (code, x, y) in enumerate(track)]


def flight(n, start=(100, 300), step=(20, -5), code=1):
    return [(code, start[0] + step[0] * i, start[1] + step[1] * i) for i in range(n)]


ABSENT = (0, 0, 0)


def audit(root, capsys, *flags):
    status = label_audit.main(["audit", str(root), *flags])
    out, err = capsys.readouterr()
    return status, out.strip().splitlines(), err


def findings(lines):
    return [line for line in lines if ".csv:" in line]


def test_a_clean_set_has_no_findings(make_clip, tmp_path, capsys):
    make_clip("game1/clip1", 12, rows=rows(flight(12)), size=SIZE)
    make_clip("game2/clip1", 10, rows=rows([ABSENT] * 3 + flight(7)), size=SIZE)  # no set to disagree with
    status, out, _ = audit(tmp_path, capsys, "--strict")
    assert status == 0 and findings(out) == []
    assert out[0] == "0 findings in 2 clips, 22 frames: none"


def test_a_ball_present_between_absent_runs_is_reported_at_its_line(make_clip, tmp_path, capsys):
    track = [ABSENT] * 4 + [(1, 500, 300)] + [ABSENT] * 4 + flight(3) + [ABSENT] * 3  # a 3-frame run is a flight
    clip = make_clip("game1/clip1", len(track), rows=rows(track), size=SIZE)
    status, out, _ = audit(tmp_path, capsys)
    assert status == 0
    assert findings(out) == [f"{clip / 'labels.csv'}:6: lone-present: ball present for 1 frame between 4 absent "
                             "frames before and 4 after"]


def test_a_still_ball_that_vanishes_and_comes_back_in_place_is_reported(make_clip, tmp_path, capsys):
    held = [(1, 640, 300), (1, 641, 301), (1, 640, 302)]
    track = held + [ABSENT] * 6 + held + [ABSENT] * 6 + flight(3, (640, 300), (30, -30))  # then served
    clip = make_clip("game1/clip1", len(track), rows=rows(track), size=SIZE)
    _, out, _ = audit(tmp_path, capsys)
    assert findings(out) == [f"{clip / 'labels.csv'}:5: still-absent: no ball for 6 frames between frames where it "
                             "stands still 2 px apart: hidden, or a held (lying) ball left unlabelled?"]


def test_a_position_far_from_both_agreeing_neighbours_is_a_jump_and_a_bounce_is_not(make_clip, tmp_path, capsys):
    track = flight(10)
    track[5] = (1, track[5][1], track[5][2] + 200)  # a slip: 200 px below its flight
    bounce = flight(5, (400, 300), (10, 30)) + flight(5, (440, 390), (10, -30))  # reverses at 30 px a frame
    clip = make_clip("game1/clip1", 10, rows=rows(track), size=SIZE)
    make_clip("game2/clip1", 10, rows=rows(bounce), size=SIZE)
    _, out, _ = audit(tmp_path, capsys)
    assert findings(out) == [f"{clip / 'labels.csv'}:7: jump: ball at (200, 475) is 196 px from both neighbours, "
                             "which are 41 px apart"]
    _, out, _ = audit(tmp_path, capsys, "--jump-px", "20")  # the threshold is the user's
    assert len(findings(out)) == 2


def test_a_hidden_ball_off_the_line_between_its_visible_neighbours_is_reported(make_clip, tmp_path, capsys):
    track = flight(12)
    track[3] = (3, track[3][1], track[3][2])  # on the line: fine
    track[7], track[8] = (3, track[7][1], track[7][2] + 10), (3, track[8][1] + 90, track[8][2])
    clip = make_clip("game1/clip1", 12, rows=rows(track), size=SIZE)
    _, out, _ = audit(tmp_path, capsys)
    assert findings(out) == [f"{clip / 'labels.csv'}:10: hidden-off-path: hidden ball at (350, 260) is 90 px off the "
                             "line from frame 6 to frame 9"]


def test_an_in_flight_gap_is_judged_by_the_sets_own_convention(make_clip, tmp_path, capsys):
    def gap(code):
        track = flight(10)
        track[5] = (code, track[5][1], track[5][2])
        return rows(track)

    make_clip("game1/clip1", 10, rows=gap(3), size=SIZE)
    make_clip("game2/clip1", 10, rows=gap(3), size=SIZE)
    odd = make_clip("game3/clip1", 10, rows=gap(0), size=SIZE)
    _, out, _ = audit(tmp_path, capsys)
    assert findings(out) == [f"{odd / 'labels.csv'}:7: lone-absent: 1 frame labelled absent inside a flight; 2 of 3 "
                             "such gaps in the set are labelled hidden"]
    assert "gaps of 1-2 frames in a flight: 1 absent, 2 hidden" in out
    _, out, _ = audit(tmp_path, capsys, "--games", "3")  # alone, a hidden ball labelled absent is the convention
    assert findings(out) == []


def test_clips_that_start_or_end_against_the_set_are_reported(make_clip, tmp_path, capsys):
    held = [(1, 640, 300)] * 5 + flight(5, (640, 300), (15, -20))  # held still, then served
    for game in (1, 2, 3):
        make_clip(f"game{game}/clip1", 14, rows=rows(held + [(1, 715, 200)] * 4), size=SIZE)  # ends lying still
    late = make_clip("game4/clip1", 10, rows=rows([ABSENT] * 5 + held[5:]), size=SIZE)  # the held ball unlabelled
    entering = [ABSENT] * 3 + flight(7, (5, 300), (20, 0))  # enters at the left border: no evidence
    make_clip("game5/clip1", 10, rows=rows(entering), size=SIZE)
    gone = make_clip("game6/clip1", 14, rows=rows(held + [(1, 715, 200)] + [ABSENT] * 3), size=SIZE)
    _, out, _ = audit(tmp_path, capsys)
    assert findings(out) == [
        f"{late / 'labels.csv'}:2: start: the first 5 frames label no ball; 4 of 5 clips start with it present and "
        "still (held before the serve?)",
        f"{gone / 'labels.csv'}:15: end: the last 3 frames label no ball; 3 of 4 clips end with it present and still "
        "(lying after the rally?)"]
    assert "clips by how they start: 1 absent, 1 outside, 4 still" in out


def test_strict_fails_on_findings_and_bad_input_names_file_and_line(make_clip, tmp_path, capsys):
    track = [ABSENT] * 4 + [(1, 500, 300)] + [ABSENT] * 4
    clip = make_clip("game1/clip1", 9, rows=rows(track), size=SIZE)
    assert audit(tmp_path, capsys, "--strict")[0] == 1
    # a blank line in the file shifts the rows: findings still name the frame's own line
    text = (clip / "labels.csv").read_text().splitlines()
    (clip / "labels.csv").write_text("\n".join(text[:3] + [""] + text[3:]) + "\n")
    assert findings(audit(tmp_path, capsys)[1])[0].startswith(f"{clip / 'labels.csv'}:7: lone-present")
    bad = make_clip("game2/clip1", 3, rows=rows([(1, 10, 10), (7, 10, 10), (1, 10, 10)]), size=SIZE)
    status, out, err = audit(tmp_path, capsys)
    assert status == 2 and out == [] and err.startswith(f"error: {bad / 'labels.csv'}:3: code '7' outside 0..3")


@pytest.mark.parametrize("argv, message", [(["--jump-px", "0"], "error: --jump-px: must be above 0"),
                                           ([], "no labelled clip")])
def test_nothing_to_audit_is_an_error(make_clip, tmp_path, capsys, argv, message):
    make_clip("game1/clip1", 3, rows=None)  # frames only
    status, _, err = audit(tmp_path, capsys, *argv)
    assert status == 2 and message in err


def test_the_readme_command_runs_as_written(make_clip, tmp_path):
    """``python -m data_prep.label_audit audit ROOT`` (README), then ``--strict`` on a set with a finding."""
    repo = Path(__file__).resolve().parents[1]
    track = [ABSENT] * 4 + [(1, 500, 300)] + [ABSENT] * 4 + flight(3) + [ABSENT] * 3
    make_clip("game1/clip1", len(track), rows=rows(track), size=SIZE)
    env = {**os.environ, "PYTHONPATH": str(repo)}
    runs = [subprocess.run([sys.executable, "-m", "data_prep.label_audit", "audit", str(tmp_path), *flags], cwd=repo,
                           env=env, capture_output=True, text=True, timeout=120) for flags in ([], ["--strict"])]
    assert [run.returncode for run in runs] == [0, 1], runs[0].stderr[-2000:]
    assert ":6: lone-present:" in runs[0].stdout and "1 findings in 1 clips" in runs[0].stdout
