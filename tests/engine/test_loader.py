from pathlib import Path

import pytest

from rxcheck.engine.loader import load_pack, validate_dir
from rxcheck.errors import RuleError

GOOD_RULE = """\
id: {id}
name: Test rule {id}
category: content
kind: red_flag
severity: low
weight: 5
status: experimental
description: A rule for tests.
message: A test finding.
references: [tests]
checks:
  word:
    text:
      phrases: [{phrase}]
condition: word
"""


def write_rule(root: Path, rule_id: str, phrase: str = "miracle cure", category: str = "content") -> Path:
    path = root / category / f"{rule_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(GOOD_RULE.format(id=rule_id, phrase=phrase).replace("category: content", f"category: {category}"))
    return path


def test_bundled_pack_loads_with_every_category_used():
    pack = load_pack()
    categories = {rule.category for rule in pack.rules}
    assert {"prescription", "licensing", "seals", "pricing", "payment"} <= categories
    assert pack.version.startswith("2026.")


def test_every_broken_rule_is_reported_with_file_and_line(tmp_path):
    write_rule(tmp_path, "fine-rule")
    bad_severity = write_rule(tmp_path, "bad-severity")
    bad_severity.write_text(bad_severity.read_text().replace("severity: low", "severity: extreme"))
    bad_condition = write_rule(tmp_path, "bad-condition")
    bad_condition.write_text(bad_condition.read_text().replace("condition: word", "condition: word and missing"))
    bad_yaml = tmp_path / "content" / "bad-yaml.yaml"
    bad_yaml.write_text("id: bad-yaml\nname: [unclosed\n")

    count, problems = validate_dir(tmp_path)

    assert count == 4
    assert any(p.startswith(f"{bad_severity}:5: severity") for p in problems), problems
    assert any(str(bad_condition) in p and "unknown checks" in p for p in problems), problems
    assert any(p.startswith(f"{bad_yaml}:") and "invalid YAML" in p for p in problems), problems
    assert not any("fine-rule" in p for p in problems)


def test_a_bad_regex_is_refused_at_load(tmp_path):
    path = write_rule(tmp_path, "bad-regex")
    path.write_text(path.read_text().replace("phrases: [miracle cure]", "regex: ['(unclosed']"))
    _, problems = validate_dir(tmp_path)
    assert len(problems) == 1 and "invalid regular expression" in problems[0]


def test_file_name_and_folder_must_match_id_and_category(tmp_path):
    path = write_rule(tmp_path, "named-right")
    path.rename(tmp_path / "content" / "named-wrong.yaml")
    _, problems = validate_dir(tmp_path)
    assert any("differs from the file name" in p for p in problems)


def test_local_pack_adds_overrides_and_disables(tmp_path):
    bundled = load_pack()
    some_id = bundled.rules[0].id
    write_rule(tmp_path, "local-extra-rule")
    (tmp_path / "overrides.yaml").write_text(f"disable: [{some_id}]\n")

    layered = load_pack([tmp_path])

    ids = {rule.id for rule in layered.rules}
    assert "local-extra-rule" in ids
    assert some_id not in ids
    assert layered.version != bundled.version


def test_local_rule_with_the_same_id_replaces_the_bundled_one(tmp_path):
    bundled = load_pack()
    target = next(rule for rule in bundled.rules if rule.category == "content")
    write_rule(tmp_path, target.id, phrase="replacement phrase")
    layered = load_pack([tmp_path])
    replaced = layered.get(target.id)
    assert replaced is not None and replaced.checks["word"].text.phrases == ["replacement phrase"]
    assert len(layered.rules) == len(bundled.rules)


def test_missing_rule_directory_is_a_clear_error(tmp_path):
    with pytest.raises(RuleError, match="no such rule directory"):
        load_pack([tmp_path / "nope"])


def test_version_is_stable_for_the_same_pack():
    assert load_pack().version == load_pack().version
