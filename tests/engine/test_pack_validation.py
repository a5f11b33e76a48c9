"""Third-party rule packs: every fault found at load (file and line), whole-pack validation with warnings,
YAML that is data only and bounded."""

from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from rxcheck.cli import app
from rxcheck.engine.loader import load_pack, validate_pack
from rxcheck.errors import RuleError
from rxcheck.reference import load_reference
from rxcheck.safeyaml import MAX_YAML_NODES

HEAD = """\
id: {id}
name: Test rule {id}
category: content
kind: red_flag
severity: low
weight: 5
description: A rule for tests.
message: A test finding.
references: [tests]
condition: probe
checks:
  probe:
"""
BROKEN_CHECKS = {
    "link-href": ("link:\n      href: ['(unclosed']", "checks.probe.link.href.0"),
    "image-link-href": ("image:\n      link_href: ['a)']", "checks.probe.image.link_href.0"),
    "url-host": ("url:\n      host: ['[z-a]']", "checks.probe.url.host.0"),
    "fact-matches": (
        "fact:\n      kind: domain\n      where: {host: {matches: '(?P<x'}}",
        "checks.probe.fact.where.host.matches",
    ),  # fmt: skip
    "text-regex": ("text:\n      regex: ['x{2,1}']", "checks.probe.text"),
    "near-regex": ("text:\n      phrases: [cure]\n      near: {regex: ['(']}", "checks.probe.text.near"),
    "selector": ("selector:\n      css: 'div[[['", "checks.probe.selector.css"),
}
LINE_OF_CHECK = HEAD.count("\n") + 1  # the line of the check type under `probe:`
runner = CliRunner()


def write_rule(root: Path, rule_id: str, check: str = "text:\n      phrases: [miracle cure]", folder="content") -> Path:
    path = root / folder / f"{rule_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEAD.format(id=rule_id) + f"    {check}\n")
    return path


@pytest.mark.parametrize("name", BROKEN_CHECKS)
def test_a_pattern_or_selector_that_does_not_compile_fails_at_load_with_file_and_line(tmp_path, name):
    check, where = BROKEN_CHECKS[name]
    path = write_rule(tmp_path, f"broken-{name}", check)
    with pytest.raises(RuleError) as raised:
        load_pack([tmp_path])
    message = str(raised.value)
    assert message.startswith(f"{path}:") and where in message
    line = int(message.split(":")[1])
    assert LINE_OF_CHECK <= line <= LINE_OF_CHECK + 2


def test_validate_reports_every_broken_pattern_at_once(tmp_path):
    paths = [write_rule(tmp_path, f"broken-{name}", check) for name, (check, _) in BROKEN_CHECKS.items()]
    report = validate_pack(tmp_path)
    assert len(report.problems) == len(BROKEN_CHECKS)
    assert {problem.split(":")[0] for problem in report.problems} == {str(path) for path in paths}


def test_serve_refuses_to_start_on_a_broken_pack(tmp_path, monkeypatch):
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("the server started on a broken pack"))
    write_rule(tmp_path / "pack", "broken-link", BROKEN_CHECKS["link-href"][0])
    result = runner.invoke(app, ["serve", "--port", "0", "--db", str(tmp_path / "db.sqlite"),
                                 "--rules", str(tmp_path / "pack")])  # fmt: skip
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "broken-link.yaml:" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("allow: [{domain: a.example, verdict: maybe, reason: x}]\n", "allow.0.verdict"),
        ("disable: [x]\nblock: [y]\n", "block: Extra inputs"),
        ("disable: [unclosed\n", "invalid YAML"),
        ("- just a list\n", "valid dictionary"),
    ],
)
def test_overrides_are_validated_by_validate_and_at_load(tmp_path, text, expected):
    write_rule(tmp_path, "fine-rule")
    (tmp_path / "overrides.yaml").write_text(text)
    report = validate_pack(tmp_path)
    assert len(report.problems) == 1 and expected in report.problems[0], report.problems
    assert report.problems[0].startswith(f"{tmp_path / 'overrides.yaml'}:")
    with pytest.raises(RuleError, match="overrides.yaml"):
        load_pack([tmp_path])


def test_what_an_author_surely_did_not_mean_is_warned_about(tmp_path):
    write_rule(tmp_path, "unknown-kind", "fact:\n      kind: prices")
    write_rule(tmp_path, "unknown-role", "text:\n      phrases: [cure]\n      roles: [contact-us]")
    write_rule(tmp_path, "at-root", folder=".")
    write_rule(tmp_path, "too-deep", folder="content/more")
    write_rule(tmp_path, "dot-yml").rename(tmp_path / "content" / "dot-yml.yml")
    (tmp_path / "overrides.yaml").write_text("disable: [no-such-rule, rx-no-prescription-needed]\n")

    report = validate_pack(tmp_path)

    assert report.problems == [] and report.rule_files == 2
    warnings = "\n".join(report.warnings)
    assert "unknown fact kind 'prices'" in warnings
    assert "unknown page role(s) ['contact-us']" in warnings
    assert f"{tmp_path / 'at-root.yaml'}: ignored" in warnings
    assert f"{tmp_path / 'content' / 'more' / 'too-deep.yaml'}: ignored: too deep" in warnings
    assert "dot-yml.yml: ignored: rule files end in .yaml" in warnings
    assert "no rule 'no-such-rule'" in warnings and "rx-no-prescription-needed" not in warnings
    assert len(report.warnings) == 6


def test_validate_prints_warnings_to_stderr_and_fails_on_them_only_when_strict(tmp_path):
    write_rule(tmp_path, "unknown-kind", "fact:\n      kind: prices")
    lenient = runner.invoke(app, ["rules", "validate", str(tmp_path)])
    assert lenient.exit_code == 0
    assert "warning:" in lenient.stderr and "warning:" not in lenient.stdout
    assert runner.invoke(app, ["rules", "validate", "--strict", str(tmp_path)]).exit_code == 1


def test_a_pack_of_only_yml_files_is_an_error_not_zero_valid_files(tmp_path):
    write_rule(tmp_path, "dot-yml").rename(tmp_path / "content" / "dot-yml.yml")
    result = runner.invoke(app, ["rules", "validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "no rule files" in result.stdout and ".yml" in result.stderr
    with pytest.raises(RuleError, match="no rule files"):
        load_pack([tmp_path])


def test_a_pack_of_only_overrides_is_fine(tmp_path):
    (tmp_path / "overrides.yaml").write_text("disable: [rx-no-prescription-needed]\n")
    assert validate_pack(tmp_path).problems == []
    assert load_pack([tmp_path]).get("rx-no-prescription-needed") is None


def test_the_bundled_pack_validates_without_a_warning():
    report = validate_pack(Path(__file__).resolve().parents[2] / "rules")
    assert report.problems == [] and report.warnings == [] and report.rule_files > 40


BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n" for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_a_yaml_bomb_is_refused_in_a_rule_file(tmp_path):
    path = write_rule(tmp_path, "bomb")
    path.write_text(BOMB + path.read_text() + "tags: *i\n")
    with pytest.raises(RuleError, match=f"aliases expand to more than {MAX_YAML_NODES:,}") as raised:
        load_pack([tmp_path])
    assert str(raised.value).startswith(f"{path}:")
    assert any("YAML bomb" in problem for problem in validate_pack(tmp_path).problems)


def test_a_yaml_bomb_and_a_cycle_are_refused_in_a_reference_file(tmp_path):
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "brands.yaml").write_text(BOMB)
    with pytest.raises(RuleError, match="YAML bomb"):
        load_reference([tmp_path])
    (tmp_path / "reference" / "brands.yaml").write_text("a: &a [x, *a]\n")
    with pytest.raises(RuleError, match="YAML bomb"):
        load_reference([tmp_path])


def test_a_few_anchors_and_aliases_are_fine(tmp_path):
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "brands.yaml").write_text("base: &b [x, y]\nother: [*b, *b]\n")
    assert load_reference([tmp_path]).get("brands") == {"base": ["x", "y"], "other": [["x", "y"], ["x", "y"]]}


@pytest.mark.parametrize(
    "tag", ["!!python/object/apply:os.system ['touch /tmp/pwned']", "!!python/object:builtins.dict {}"]
)
def test_object_constructing_tags_are_refused_with_a_clear_error(tmp_path, tag):
    path = write_rule(tmp_path, "tagged")
    path.write_text(path.read_text().replace("description: A rule for tests.", f"description: {tag}"))
    with pytest.raises(RuleError) as raised:
        load_pack([tmp_path])
    message = str(raised.value)
    assert message.startswith(f"{path}:7: invalid YAML") and "tags that build objects are refused" in message
