"""YAML loading that remembers where each value was written, so errors can name a line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import yaml


class YamlError(ValueError):
    """A file that is not valid YAML; the message names the file, line and column."""


class Problems(ValueError):
    """Every problem found in a file, one per line, each with its file and line; ``what`` says
    what kind of file it was (the message begins "invalid configuration:", say)."""

    what = "file"

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"invalid {self.what}:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass
class Located:
    data: Any
    _lines: dict[tuple, int]

    def line(self, path: Iterable[Any]) -> int | None:
        """1-based line of the value at ``path`` (or of its nearest written ancestor)."""
        key = tuple(path)
        while key:
            if key in self._lines:
                return self._lines[key]
            key = key[:-1]
        return self._lines.get((), None)


def load(text: str, source: str = "<string>") -> Located:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise YamlError(f"{where}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise YamlError(f"{source}: invalid YAML: {exc}") from None
    lines: dict[tuple, int] = {}
    if node is not None:
        _walk(node, (), lines, source)
    return Located(data, lines)


def load_file(path: str) -> Located:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise YamlError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise YamlError(f"{path}: not UTF-8 text") from None
    return load(text, path)


def _walk(node: yaml.Node, path: tuple, lines: dict[tuple, int], source: str) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        first_seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            line = key_node.start_mark.line + 1
            if key in first_seen:  # YAML keeps the last value without a word; a typo'd copy is a mistake
                where = json_path(path + (key,))
                raise YamlError(f"{source}:{line}: {where} is written twice (first on line {first_seen[key]}); "
                                "keep one")
            first_seen[key] = line
            lines[path + (key,)] = line
            _walk(value_node, path + (key,), lines, source)
            lines[path + (key,)] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            _walk(child, path + (index,), lines, source)


def json_path(path: Iterable[Any]) -> str:
    """``("items", 0, "id")`` -> ``items[0].id``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(root)"
