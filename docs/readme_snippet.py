from dataclasses import replace
from pathlib import Path

import numpy as np

from data_prep.clips import discover_clips
from data_prep.embedded import EMBEDDED, ensure_embedded
from tracking.assignment import SuperTrackingModel

data_path = ensure_embedded(replace(EMBEDDED, games=1), workers=1)  # renders game 1 of the embedded set if missing
clip = np.stack(list(discover_clips(data_path, [1])[0].iter_frames()))  # (n, 720, 1280, 3) RGB, as loaded there

model = SuperTrackingModel(batch_s=4, stack_s=3, out_path=Path("runs/assignment"), downscale=False)
model.load()                         # shipped weights, nothing to download by hand
labels, prob = model.predict(clip)   # labels (n, 3) = code, x, y at 1280x720; prob (n, 88, 160) float32 maps
score = model.test(data_path, [1], do_visualization=False, test_name="readme")  # True adds overlay videos
print(f"SiBaTrAcc on game 1: {score:.4f}")
