"""`train.py --help` explains every flag in words, taken from the config dataclasses' field comments."""
import argparse
import dataclasses

import pytest

from cli.config_args import add_config_args, field_docs
from engine.config import BaselineConfig, ProposalConfig, RefineConfig


@pytest.mark.parametrize("cls", [ProposalConfig, RefineConfig, BaselineConfig])
def test_every_flag_has_words_and_a_default(cls):
    parser = argparse.ArgumentParser()
    add_config_args(parser, cls)
    actions = {a.dest: a for a in parser._actions}
    for f in dataclasses.fields(cls):
        text = actions[f.name].help
        assert "(default: " in text and len(text.split("(default: ")[0].split()) >= 2, (cls.__name__, f.name, text)
    assert actions["wandb"].choices == ("offline", "online", "off")
    parser.format_help()  # help texts with % signs must not break argparse's formatting


def test_comment_above_a_field_and_on_its_line_and_a_subclass_adding_to_it():
    @dataclasses.dataclass
    class Base:
        # two lines
        # of explanation
        a: int = 1
        b: int = 2  # on the line

    @dataclasses.dataclass
    class Child(Base):
        b: int = 3  # overridden here

    assert field_docs(Base) == {"a": "two lines of explanation", "b": "on the line"}
    assert field_docs(Child)["b"] == "on the line; overridden here"
    assert field_docs(Child)["a"] == "two lines of explanation"


def test_a_field_after_an_inline_comment_does_not_take_it_and_a_redefined_field_keeps_its_base_words():
    @dataclasses.dataclass
    class Base:
        epochs: int = 10  # training epochs
        # shared by
        # the group
        steps: int = 5
        batch: int = 8

    @dataclasses.dataclass
    class Child(Base):
        top_k: int = 5  # candidates per frame
        epochs: int = 12

    assert field_docs(Child) == {"epochs": "training epochs", "steps": "shared by the group",
                                 "batch": "shared by the group", "top_k": "candidates per frame"}
