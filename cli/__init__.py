"""The commands' floor, above ``engine``: every command's flags, parsed once into config objects, and the
orchestrators that chain library functions (``--stage all``, self-training, the demo, evaluation runs). The root
scripts (``train.py``, ``evaluate.py``, ``track.py``, ``report.py``) and ``python -m cli.X`` run them."""
