"""``python -m data_prep.synth``: the command is :mod:`cli.synth`."""
from cli.synth import main

main()
