"""Reference data shipped with the rule packs (`rules/reference/*.yaml`): medicines, prices, currencies, registers.

A local pack may ship its own `reference/<name>.yaml`; it replaces the bundled file of the same name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rxcheck.safeyaml import LOADER, load_yaml

__all__ = ["LOADER", "Reference", "bundled_rules_dir", "load_reference"]


def bundled_rules_dir() -> Path:
    """The rule pack shipped with rxcheck (installed as the `rxcheck_rules` package, or `rules/` in a checkout)."""
    try:
        import rxcheck_rules

        return Path(next(iter(rxcheck_rules.__path__)))
    except ImportError:  # running from a source checkout without installing
        return Path(__file__).resolve().parent.parent / "rules"


class Reference:
    """Named reference tables, each the parsed content of one YAML file."""

    def __init__(self, tables: dict[str, Any], digest: str) -> None:
        self._tables = tables
        self.digest = digest

    def get(self, name: str, default: Any = None) -> Any:
        return self._tables.get(name, default)

    def names(self) -> list[str]:
        return sorted(self._tables)


def load_reference(rule_dirs: Sequence[Path]) -> Reference:
    files: dict[str, Path] = {}
    for rule_dir in rule_dirs:
        ref_dir = Path(rule_dir) / "reference"
        if ref_dir.is_dir():
            for path in sorted(ref_dir.glob("*.yaml")):
                files[path.stem] = path
    tables: dict[str, Any] = {}
    digest = hashlib.sha256()
    for name, path in sorted(files.items()):
        raw = path.read_bytes()
        digest.update(name.encode() + b"\0" + raw)
        tables[name] = load_yaml(path, raw)[0]
    return Reference(tables, digest.hexdigest()[:12])
