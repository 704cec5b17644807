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


# libyaml's parser where PyYAML was built with it (its wheels are): a 20,000-SKU catalog took 16 s
# to read with the pure-Python one, parsed twice; parsed once, by libyaml, it takes 3 s.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# How deep lists and mappings may nest: a configuration or scenario file needs a handful of levels.
# libyaml 0.2.5's composer recurses in C once a level and crashes the process (a segmentation
# fault) some tens of thousands of levels down (0.2.6 refuses past 1,000 itself), and the walk
# below recurses in Python; so the events are read first, and a file nested deeper than this is
# refused before it is composed.
MAX_DEPTH = 64
_TOO_DEEP = f"lists and mappings nested more than {MAX_DEPTH} levels deep; moisim reads at most {MAX_DEPTH}"
_OPENS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSES = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _check_depth(text: str, source: str) -> None:
    """Refuse a text nested more than :data:`MAX_DEPTH` levels deep, naming the line. libyaml's
    parser keeps its own stack, and the scan stops at the first level too deep. It adds about a
    sixth to the time a file takes to read (0.35 of 2.4 s for a 20,000-SKU catalog)."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, _OPENS):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
                raise YamlError(f"{where}: {_TOO_DEEP}")
        elif isinstance(event, _CLOSES):
            depth -= 1


def load(text: str, source: str = "<string>") -> Located:
    try:
        _check_depth(text, source)
        node = yaml.compose(text, Loader=_LOADER)  # once: the lines come from the nodes, the data too
        data = None if node is None else yaml.constructor.SafeConstructor().construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        if exc.problem == "exceeded maximum nesting depth":
            # libyaml 0.2.6 (PyYAML 6.0.4's wheels) stops at 1,000 levels itself, and its scanner reads a
            # run of "[" ahead of the events the scan above counts: the same mistake, said the same way
            raise YamlError(f"{where}: {_TOO_DEEP}") from None
        raise YamlError(f"{where}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise YamlError(f"{source}: invalid YAML: {exc}") from None
    lines: dict[tuple, int] = {}
    if node is not None:
        _Walk(lines, source).walk(node, ())
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


# Aliases (*name) repeat a value without writing it again, so a short file can stand for billions
# of values, or for one that contains itself; past this many repeats, the file is refused instead
# of read for ever. (A catalog written out may hold far more values than this.)
MAX_VALUES = 100_000


class _Walk:
    """Records the line of every value (by its path) and refuses keys written twice, alias
    cycles, alias expansions past :data:`MAX_VALUES` and nesting past :data:`MAX_DEPTH` through
    aliases. Values written out count for nothing against :data:`MAX_VALUES`: a file's size bounds
    them."""

    def __init__(self, lines: dict[tuple, int], source: str) -> None:
        self.lines, self.source = lines, source
        self.repeats = 0  # values reached again through an alias
        self.seen: set[int] = set()  # ids of the nodes walked once: an alias leads back to one
        self.open: set[int] = set()  # ids of the nodes being walked: an alias back to one is a cycle

    def walk(self, node: yaml.Node, path: tuple) -> None:
        line = node.start_mark.line + 1
        if id(node) in self.seen:
            self.repeats += 1
            if self.repeats > MAX_VALUES:
                raise YamlError(f"{self.source}:{line}: more than {MAX_VALUES} values once its aliases (*name) are "
                                "expanded; write the values out, or fewer repeats")
        else:
            self.seen.add(id(node))
        if id(node) in self.open:
            raise YamlError(f"{self.source}:{line}: {json_path(path)} is an alias (*name) of a value that "
                            "contains it; a value cannot hold itself")
        self.lines[path] = line
        if not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            return
        if len(path) >= MAX_DEPTH:  # written within the limit, an alias in a value can go past it
            raise YamlError(f"{self.source}:{line}: {json_path(path[:4])}... is nested more than {MAX_DEPTH} levels "
                            f"deep once its aliases (*name) are expanded; moisim reads at most {MAX_DEPTH}")
        self.open.add(id(node))
        if isinstance(node, yaml.MappingNode):
            self._mapping(node, path)
        else:
            for index, child in enumerate(node.value):
                self.walk(child, path + (index,))
        self.open.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: tuple) -> None:
        first_seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else f"<{key_node.tag} key>"
            line = key_node.start_mark.line + 1
            if key in first_seen:  # YAML keeps the last value without a word; a typo'd copy is a mistake
                raise YamlError(f"{self.source}:{line}: {json_path(path + (key,))} is written twice (first on line "
                                f"{first_seen[key]}); keep one")
            first_seen[key] = line
            self.walk(value_node, path + (key,))
            self.lines[path + (key,)] = line  # the key's line, where a mistake in its value is read


def json_path(path: Iterable[Any]) -> str:
    """``("items", 0, "id")`` -> ``items[0].id``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(root)"
