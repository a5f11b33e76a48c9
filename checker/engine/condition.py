"""Rule conditions: check names combined with `and`, `or`, `not` and parentheses (as in Sigma)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

TOKEN = re.compile(r"\s*(?:(\()|(\))|([A-Za-z_][A-Za-z0-9_]*)|(\S))")


@dataclass(frozen=True)
class Node:
    op: str  # "name", "and", "or", "not"
    name: str = ""
    children: tuple[Node, ...] = ()

    def names(self) -> set[str]:
        if self.op == "name":
            return {self.name}
        return set().union(*(child.names() for child in self.children))

    def evaluate(self, value_of: Callable[[str], bool]) -> bool:
        if self.op == "name":
            return value_of(self.name)
        if self.op == "not":
            return not self.children[0].evaluate(value_of)
        if self.op == "and":
            return all(child.evaluate(value_of) for child in self.children)
        return any(child.evaluate(value_of) for child in self.children)

    def positive_names(self, negated: bool = False) -> set[str]:
        """Names whose being true counts toward the condition (not under an odd number of `not`s)."""
        if self.op == "name":
            return set() if negated else {self.name}
        inner = not negated if self.op == "not" else negated
        return set().union(*(child.positive_names(inner) for child in self.children))


@lru_cache(maxsize=4096)
def parse_condition(text: str) -> Node:
    """Parse `a and not (b or c)`. `and` binds tighter than `or`. Raises ValueError on a malformed condition.
    Parsed once per condition text (the tree is immutable), not once per site."""
    tokens = _tokenize(text)
    node, pos = _parse_or(tokens, 0)
    if pos != len(tokens):
        raise ValueError(f"unexpected {tokens[pos]!r} in condition {text!r}")
    return node


def _tokenize(text: str) -> list[str]:
    tokens = []
    for match in TOKEN.finditer(text):
        if match.group(4):
            raise ValueError(f"unexpected character {match.group(4)!r} in condition {text!r}")
        tokens.append(match.group(1) or match.group(2) or match.group(3))
    if not tokens:
        raise ValueError("empty condition")
    return tokens


def _parse_or(tokens: list[str], pos: int) -> tuple[Node, int]:
    left, pos = _parse_and(tokens, pos)
    children = [left]
    while pos < len(tokens) and tokens[pos] == "or":
        right, pos = _parse_and(tokens, pos + 1)
        children.append(right)
    return (children[0] if len(children) == 1 else Node("or", children=tuple(children))), pos


def _parse_and(tokens: list[str], pos: int) -> tuple[Node, int]:
    left, pos = _parse_not(tokens, pos)
    children = [left]
    while pos < len(tokens) and tokens[pos] == "and":
        right, pos = _parse_not(tokens, pos + 1)
        children.append(right)
    return (children[0] if len(children) == 1 else Node("and", children=tuple(children))), pos


def _parse_not(tokens: list[str], pos: int) -> tuple[Node, int]:
    if pos >= len(tokens):
        raise ValueError("condition ends too early")
    token = tokens[pos]
    if token == "not":
        child, pos = _parse_not(tokens, pos + 1)
        return Node("not", children=(child,)), pos
    if token == "(":
        node, pos = _parse_or(tokens, pos + 1)
        if pos >= len(tokens) or tokens[pos] != ")":
            raise ValueError("missing ')' in condition")
        return node, pos + 1
    if token in ("and", "or", ")"):
        raise ValueError(f"unexpected {token!r} in condition")
    return Node("name", name=token), pos + 1
