"""A config dataclass as command-line flags: one ``--field-name`` per field, typed from its annotation, its default
the dataclass's and its ``--help`` the comment written beside the field (:func:`field_docs`)."""
from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import io
import textwrap
import tokenize
import typing
from typing import Literal


def field_docs(cls: type) -> dict[str, str]:
    """Each field's comment, as written in the dataclass source: the comment on its line, else the comment block
    right above it, else (for a field right below a block-commented one) that block: a group of fields shares one.
    A subclass's comment follows its base's (what the field is, then why the subclass's default); a field it
    redefines without one keeps its base's. These are the flags' ``--help`` texts."""
    docs: dict[str, str] = {}
    for klass in reversed([k for k in cls.__mro__ if dataclasses.is_dataclass(k)]):
        source = textwrap.dedent(inspect.getsource(klass))
        lines = source.splitlines()
        comments = {tok.start[0]: tok.string.lstrip("#").strip()
                    for tok in tokenize.generate_tokens(io.StringIO(source).readline) if tok.type == tokenize.COMMENT}
        previous = (None, "")  # (last line, block comment) of the field above, when a block documents it
        for node in ast.parse(source).body[0].body:
            if not isinstance(node, ast.AnnAssign):
                continue
            text, row, block = comments.get(node.lineno, ""), node.lineno - 1, ""
            if not text:
                lines_above = []
                while row > 0 and lines[row - 1].strip().startswith("#"):
                    row -= 1
                    lines_above.insert(0, comments[row + 1])
                block = " ".join(lines_above) or (previous[1] if previous[0] == node.lineno - 1 else "")
                text = block
            base = docs.get(node.target.id, "")
            if text and text != base:
                docs[node.target.id] = f"{base}; {text}" if base else text
            previous = (node.end_lineno, block)
    return docs


def add_config_args(parser: argparse.ArgumentParser, cls: type, defaults: bool = True) -> None:
    """One ``--field-name`` flag per dataclass field, typed from the annotation, default from the dataclass.

    ``defaults=False`` leaves flags that were not typed out of the parsed namespace (to tell which were given).
    """
    hints, docs = typing.get_type_hints(cls), field_docs(cls)
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        kind = hints[f.name]
        args = typing.get_args(kind)
        base = next((a for a in args if a is not type(None)), kind) if args and type(None) in args else kind
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        help_text = f"{docs.get(f.name, '')} (default: {default})".lstrip().replace("%", "%%")
        default = default if defaults else argparse.SUPPRESS
        if typing.get_origin(base) is Literal:
            parser.add_argument(flag, choices=typing.get_args(base), default=default, help=help_text)
        elif base is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help_text)
        elif typing.get_origin(base) is list:
            parser.add_argument(flag, type=typing.get_args(base)[0], nargs="+", default=default, help=help_text)
        else:
            parser.add_argument(flag, type=base, default=default, help=help_text)


def config_from_args(cls: type, namespace: argparse.Namespace):
    return cls(**{f.name: getattr(namespace, f.name) for f in dataclasses.fields(cls)})
