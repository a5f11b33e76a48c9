"""Warnings about a rule pack that loads but surely does not do what its author meant.

A rule that names a fact kind or page role nothing produces never matches; a `disable` entry naming no rule
disables nothing; a rule file outside `<category>/<rule-id>.yaml` (at the pack root, one folder too deep, or
ending in `.yml`) is never read. None of these stop a pack from loading: `rxcheck rules validate` reports them
(and fails on them with `--strict`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from rxcheck.engine.schema import Overrides, Rule
from rxcheck.engine.vocabulary import fact_kinds

PACK_FILES = {"overrides.yaml"}


def stray_files(rule_dir: Path, read: Iterable[Path], not_rules: Iterable[str]) -> Iterator[str]:
    """YAML files the loader never reads (`read`: the rule files it reads; `not_rules`: folders of other data)."""
    rule_dir = Path(rule_dir)
    read, not_rules = set(read), set(not_rules)
    for path in sorted(rule_dir.rglob("*.y*ml")):
        if not path.is_file() or path.suffix not in (".yaml", ".yml") or path in read:
            continue
        parts = path.relative_to(rule_dir).parts
        if parts[0] in not_rules:
            if path.suffix == ".yml":
                yield f"{path}: ignored: reference and test files end in .yaml, not .yml"
            continue
        if path.suffix == ".yml":
            yield f"{path}: ignored: rule files end in .yaml, not .yml (rename it)"
        elif len(parts) == 1 and path.name not in PACK_FILES:
            yield f"{path}: ignored: rule files go in a category folder, <category>/<rule-id>.yaml"
        elif len(parts) > 2:
            yield f"{path}: ignored: too deep; rule files go directly in a category folder, <category>/<rule-id>.yaml"


def rule_warnings(rule: Rule, path: Path, roles: frozenset[str]) -> Iterator[str]:
    """Fact kinds and page roles a rule names that nothing produces."""
    kinds = fact_kinds()
    for name, check in rule.checks.items():
        inner = getattr(check, check.type)
        if check.type == "fact" and inner.kind not in kinds:
            yield (f"{path}: checks.{name}: unknown fact kind {inner.kind!r}; this check never matches "
                   f"(kinds: {', '.join(sorted(kinds))})")  # fmt: skip
        for attr in ("roles", "exclude_roles"):
            unknown = [role for role in getattr(inner, attr, None) or [] if role not in roles]
            if unknown:
                yield (f"{path}: checks.{name}.{attr}: unknown page role(s) {unknown} "
                       f"(roles: {', '.join(sorted(roles))})")  # fmt: skip


def override_warnings(overrides: Overrides, path: Path, known_ids: Iterable[str]) -> Iterator[str]:
    known = set(known_ids)
    for rule_id in overrides.disable:
        if rule_id not in known:
            yield f"{path}: disable: no rule {rule_id!r} in this pack or the bundled one; nothing is disabled"
