"""Loading rule packs: the bundled pack, with local packs layered over it (add, override by id, disable).

Every file is validated against the schema; all problems are reported at once, each with file and line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rxcheck.discover import RoleMatcher
from rxcheck.engine.packlint import override_warnings, rule_warnings, stray_files
from rxcheck.engine.patterns import pattern_faults, text_matches
from rxcheck.engine.schema import Overrides, Rule
from rxcheck.engine.vocabulary import page_roles
from rxcheck.errors import RuleError
from rxcheck.facts.medicines import MedicineIndex
from rxcheck.facts.prices import Prices
from rxcheck.facts.seals import Issuer, issuers_from
from rxcheck.language import Language
from rxcheck.lexicon import Lexicon, load_lexicon
from rxcheck.reference import Reference, bundled_rules_dir, load_reference
from rxcheck.safeyaml import load_yaml
from rxcheck.sitetype import SiteTypePolicy

PACK_VERSION = "2026.11"
NOT_RULES = {"reference", "tests"}


@dataclass
class RulePack:
    """A loaded pack, compiled once: rules, reference data, the lexicon and what is built from them (the assertion
    cues, the medicine index, price tables, seal issuers, page roles). Passed explicitly to every stage."""

    rules: list[Rule]
    overrides: Overrides
    reference: Reference
    version: str
    lexicon: Lexicon = field(default_factory=lambda: Lexicon({}))
    sources: dict[str, Path] = field(default_factory=dict)  # rule id -> file
    language: Language = field(init=False)
    medicines: MedicineIndex = field(init=False)
    prices: Prices = field(init=False)
    issuers: list[Issuer] = field(init=False)
    roles: RoleMatcher = field(init=False)
    site_types: SiteTypePolicy = field(init=False)
    _built: dict[str, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.language = Language(self.reference.get("language"), self.lexicon)
        self.medicines = MedicineIndex(self.reference.get("medicines"))
        self.prices = Prices(self.reference.get("currencies"), self.reference.get("prices"))
        self.issuers = issuers_from(self.reference.get("registers"))
        self.roles = RoleMatcher(self.reference, self.medicines)
        self.site_types = SiteTypePolicy(self.reference.get("site_type"))

    def compiled(self, name: str, build: Callable[[RulePack], Any]) -> Any:
        """What a stage builds from this pack's data (its patterns over the lexicon), built once per pack."""
        if name not in self._built:
            self._built[name] = build(self)
        return self._built[name]

    def get(self, rule_id: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.id == rule_id), None)

    def active(self) -> list[Rule]:
        return [rule for rule in self.rules if rule.enabled]


def _line_of(node: yaml.Node | None, loc: Sequence[Any]) -> int | None:
    """The line (1-based) of the YAML node at path `loc`, or of the deepest node found on the way."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for key in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(key):
                    child = value_node
                    line = key_node.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def _read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    return load_yaml(path)


def load_rule_file(path: Path) -> Rule:
    """Load and validate one rule file. Raises `RuleError` listing every problem with its line."""
    data, node = _read_yaml(path)
    if not isinstance(data, dict):
        raise RuleError(f"{path}:1: a rule file holds one mapping (id, name, category, ...)")
    try:
        rule = Rule.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = [part for part in error["loc"] if not (isinstance(part, str) and part.startswith("function-"))]
            line = _line_of(node, loc) or 1
            where = ".".join(str(p) for p in loc) or "rule"
            problems.append(f"{path}:{line}: {where}: {error['msg']}")
        raise RuleError("\n".join(problems)) from None
    problems = []
    if path.stem != rule.id:
        problems.append(f"{path}:{_line_of(node, ['id'])}: id {rule.id!r} differs from the file name {path.stem!r}")
    if path.parent.name != rule.category:
        line = _line_of(node, ["category"])
        problems.append(f"{path}:{line}: category {rule.category!r} differs from its folder {path.parent.name!r}")
    problems.extend(compile_problems(rule, node, path))
    if problems:
        raise RuleError("\n".join(problems))
    return rule


def compile_problems(rule: Rule, node: yaml.Node | None, path: Path) -> list[str]:
    """Every pattern and selector of the rule that does not compile, with its file and line."""
    return [
        f"{path}:{_line_of(node, where) or 1}: {'.'.join(map(str, where))}: {reason}"
        for where, reason in pattern_faults(rule)
    ]


def unknown_lists(rule: Rule, lexicon: Lexicon) -> list[str]:
    """A problem for each lexicon list a rule's text checks name that the lexicon does not define."""
    return [
        f"checks.{name}: no lexicon list {term!r} (lists: {', '.join(lexicon.names())})"
        for name, check in rule.checks.items()
        for _attr, match in text_matches(getattr(check, check.type))
        for term in lexicon.missing(match.terms)
    ]


def rule_files(rule_dir: Path) -> list[Path]:
    return sorted(path for path in Path(rule_dir).glob("*/*.yaml") if path.parent.name not in NOT_RULES)


def load_pack(local_dirs: Sequence[Path] = (), *, include_bundled: bool = True) -> RulePack:
    """The effective pack: bundled rules, then each local dir in order (same id replaces, `disable` removes)."""
    dirs = ([bundled_rules_dir()] if include_bundled else []) + [Path(d) for d in local_dirs]
    for rule_dir in dirs:
        if not rule_dir.is_dir():
            raise RuleError(f"{rule_dir}: no such rule directory")
        if (empty := _empty_pack(rule_dir, rule_files(rule_dir))) is not None:
            raise RuleError(empty)
    rules: dict[str, Rule] = {}
    sources: dict[str, Path] = {}
    overrides = Overrides()
    problems: list[str] = []
    digest = hashlib.sha256()
    for rule_dir in dirs:
        seen_here: dict[str, Path] = {}
        for path in rule_files(rule_dir):
            try:
                rule = load_rule_file(path)
            except RuleError as exc:
                problems.append(str(exc))
                continue
            if rule.id in seen_here:
                problems.append(f"{path}:1: duplicate rule id {rule.id!r} (also in {seen_here[rule.id]})")
                continue
            seen_here[rule.id] = path
            rules[rule.id] = rule
            sources[rule.id] = path
        overrides_file = rule_dir / "overrides.yaml"
        if overrides_file.is_file():
            try:
                overrides = _merge_overrides(overrides, _load_overrides(overrides_file))
            except RuleError as exc:
                problems.append(str(exc))
    if problems:
        raise RuleError("\n".join(problems))
    for rule_id in overrides.disable:
        rules.pop(rule_id, None)
    effective = [rules[rule_id] for rule_id in sorted(rules)]
    reference = load_reference(dirs)
    lexicon = load_lexicon(dirs)
    problems = [f"{sources[rule.id]}: {problem}" for rule in effective for problem in unknown_lists(rule, lexicon)]
    if problems:
        raise RuleError("\n".join(problems))
    for rule in effective:
        digest.update(json.dumps(rule.model_dump(mode="json", exclude={"tests"}), sort_keys=True).encode())
    digest.update(overrides.model_dump_json().encode() + reference.digest.encode() + lexicon.digest.encode())
    return RulePack(
        rules=effective,
        overrides=overrides,
        reference=reference,
        version=f"{PACK_VERSION}-{digest.hexdigest()[:10]}",
        lexicon=lexicon,
        sources=sources,
    )


def _load_overrides(path: Path) -> Overrides:
    data, node = _read_yaml(path)
    try:
        return Overrides.model_validate(data or {})
    except ValidationError as exc:
        lines = [f"{path}:{_line_of(node, list(e['loc'])) or 1}: {'.'.join(map(str, e['loc']))}: {e['msg']}"
                 for e in exc.errors()]  # fmt: skip
        raise RuleError("\n".join(lines)) from None


def _merge_overrides(base: Overrides, extra: Overrides) -> Overrides:
    return Overrides(allow=base.allow + extra.allow, deny=base.deny + extra.deny, disable=base.disable + extra.disable)


def validate_dir(rule_dir: Path) -> tuple[int, list[str]]:
    """Validate every rule file in one directory alone: (number of files, problems)."""
    report = validate_pack(rule_dir)
    return report.rule_files, report.problems


@dataclass
class PackReport:
    """What `rxcheck rules validate` says about one pack: problems stop it loading, warnings do not."""

    rule_files: int
    problems: list[str]
    warnings: list[str]
    has_overrides: bool


def validate_pack(rule_dir: Path) -> PackReport:
    """Validate one pack directory alone, whole: its rule files, `overrides.yaml` and reference files; and warn
    about what it holds that the loader ignores or that can never match."""
    rule_dir = Path(rule_dir)
    problems: list[str] = []
    files = rule_files(rule_dir)
    rules: dict[str, tuple[Rule, Path]] = {}
    try:
        lexicon = load_lexicon(list(dict.fromkeys([bundled_rules_dir(), Path(rule_dir)])))
    except RuleError as exc:
        problems.extend(str(exc).splitlines())
        lexicon = None
    for path in files:
        try:
            rule = load_rule_file(path)
        except RuleError as exc:
            problems.extend(str(exc).splitlines())
            continue
        if lexicon is not None:
            problems.extend(f"{path}: {problem}" for problem in unknown_lists(rule, lexicon))
        if rule.id in rules:
            problems.append(f"{path}:1: duplicate rule id {rule.id!r} (also in {rules[rule.id][1]})")
        rules[rule.id] = (rule, path)
    overrides_file = rule_dir / "overrides.yaml"
    overrides = Overrides()
    if overrides_file.is_file():
        try:
            overrides = _load_overrides(overrides_file)
        except RuleError as exc:
            problems.extend(str(exc).splitlines())
    bundled = bundled_rules_dir()
    dirs = [rule_dir] if rule_dir.resolve() == bundled.resolve() else [bundled, rule_dir]
    try:
        reference = load_reference(dirs)
    except RuleError as exc:
        problems.extend(str(exc).splitlines())
        reference = Reference({}, "")
    empty = _empty_pack(rule_dir, files)
    if empty:
        problems.append(empty)
    warnings = list(stray_files(rule_dir, files, NOT_RULES))
    roles = page_roles(reference)
    for rule, path in rules.values():
        warnings.extend(rule_warnings(rule, path, roles))
    known = set(rules) | ({path.stem for path in rule_files(bundled)} if len(dirs) > 1 else set())
    warnings.extend(override_warnings(overrides, overrides_file, known))
    return PackReport(len(files), problems, warnings, overrides_file.is_file())


def _empty_pack(rule_dir: Path, files: list[Path]) -> str | None:
    """A pack with no rule files, no `overrides.yaml` and no reference files adds nothing: surely a mistake."""
    if files or (rule_dir / "overrides.yaml").is_file() or any((rule_dir / "reference").rglob("*.yaml")):
        return None
    return f"{rule_dir}: no rule files (<category>/<rule-id>.yaml), overrides.yaml or reference files in this pack"


def json_schema() -> dict[str, Any]:
    schema = Rule.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "rxcheck rule"
    return schema
