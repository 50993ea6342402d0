"""Train one stage of the tracker.

    python train.py --stage proposal                       # embedded synthetic data, default config
    python train.py --stage refine                         # needs a proposal checkpoint (weights/ or --proposal)
    python train.py --stage proposal --data ROOT --games 1 2 3 --val-games 4 --epochs 20
    python train.py --stage proposal --resume runs/proposal_3
    torchrun --standalone --nproc_per_node=2 train.py --stage proposal   # N processes, same global batch

The loop itself is ``engine/train.py``: config -> seed -> data -> model -> optimiser -> resume -> train, validate and
checkpoint each epoch.
"""
from engine.train import main

if __name__ == "__main__":
    main()
