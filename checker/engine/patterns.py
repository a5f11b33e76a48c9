"""Compiling every pattern and CSS selector of a rule at load, so a broken rule fails there and never at match time.

Regular expressions compile with RE2 (`rxcheck.engine.text`), the same function the matchers use; CSS selectors
with soupsieve, the library behind `Document.select`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import soupsieve

from rxcheck.engine.schema import Rule, TextMatch
from rxcheck.engine.text import compile_any, compile_regex

Location = list[str | int]


def pattern_faults(rule: Rule) -> Iterator[tuple[Location, str]]:
    """Each pattern or selector of `rule` that does not compile: (path in the rule file, reason)."""
    for name, check in rule.checks.items():
        kind = check.type
        inner = getattr(check, kind)
        where: Location = ["checks", name, kind]
        for attr, match in text_matches(inner):
            try:
                compile_any(tuple(match.phrases), tuple(match.regex))
            except ValueError as exc:
                yield where + ([attr] if attr else []), str(exc)
        for attr in ("href", "link_href", "host"):
            for index, pattern in enumerate(getattr(inner, attr, None) or []):
                yield from _regex_fault(where + [attr, index], pattern)
        if kind == "fact":
            for attr, test in inner.where.items():
                if isinstance(test, dict) and "matches" in test:
                    yield from _regex_fault(where + ["where", attr, "matches"], test["matches"])
        if kind == "selector":
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # deprecations (`:contains`) still work
                    soupsieve.compile(inner.css)
            except (soupsieve.SelectorSyntaxError, NotImplementedError, ValueError, TypeError) as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                yield where + ["css"], f"invalid CSS selector {inner.css!r}: {reason}"


def text_matches(inner: Any) -> Iterator[tuple[str | None, TextMatch]]:
    if isinstance(inner, TextMatch):
        yield None, inner
    for attr in ("text", "near", "not_near"):
        value = getattr(inner, attr, None)
        if isinstance(value, TextMatch):
            yield attr, value


def _regex_fault(where: Location, pattern: Any) -> Iterator[tuple[Location, str]]:
    if not isinstance(pattern, str):
        yield where, f"a regular expression is a string, not {type(pattern).__name__}"
        return
    try:
        compile_regex(pattern)
    except ValueError as exc:
        yield where, str(exc)
