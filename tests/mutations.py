"""Bodies with one thing wrong: the schema tests and the HTTP tests mutate valid bodies alike."""

from __future__ import annotations

import copy
import random
from typing import Any, Iterator



def nested(levels: int) -> list:
    """``[[[...]]]``, ``levels`` arrays deep."""
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


# Besides the odd scalars: arrays nested 40 levels deep (read), and 70 (refused: past 64 with the body).
ODD_VALUES: list[Any] = [None, True, False, 0, 1, -1, 1.0, 1.5, 10**30, "", "1", "x" * 300, "a/b", [], [1], {},
                         {"a": 1}, "12.5", "0", "invoice 1", -0.0, float(2**53), nested(40), nested(70)]


def mutations(body: Any, rng: random.Random, count: int) -> Iterator[Any]:
    """Bodies with one value replaced, one key removed, or one key added, anywhere in the tree."""
    paths: list[tuple] = []

    def walk(node: Any, path: tuple) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, path + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, path + (i,))

    walk(body, ())
    for _ in range(count):
        mutated = copy.deepcopy(body)
        path = rng.choice(paths)
        parent = mutated
        for part in path[:-1]:
            parent = parent[part]
        action = rng.random()
        if not path:
            yield rng.choice(ODD_VALUES)
            continue
        if action < 0.6:
            parent[path[-1]] = rng.choice(ODD_VALUES)
        elif action < 0.85 and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[rng.choice(["extra", "type", "id", "items"])] = rng.choice(ODD_VALUES)
        else:
            parent.append(rng.choice(ODD_VALUES))
        yield mutated
