"""Reading rule-pack YAML, which comes from third parties: plain data only, and bounded.

The C safe loader builds no objects (`!!python/object` and other tags are refused). On top of that, a file may
not be bigger than `MAX_YAML_BYTES`, nor grow past `MAX_YAML_NODES` once its aliases are expanded, so a
"billion laughs" file (aliases of aliases) is refused before anything walks the expanded data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from rxcheck.errors import RuleError

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_YAML_BYTES = 5_000_000
MAX_YAML_NODES = 500_000  # scalars, sequences and mappings, counting each alias as a copy of what it names


def expanded_size(root: yaml.Node, limit: int = MAX_YAML_NODES) -> int:
    """How many nodes the document has once aliases are expanded; stops counting just past `limit`."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # being counted: meeting one again is a cycle, which never ends once expanded
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if not children_done and id(node) in open_nodes:
            return limit + 1
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            sizes[id(node)] = 1
            continue
        if children_done:
            open_nodes.discard(id(node))
            sizes[id(node)] = min(limit + 1, 1 + sum(sizes.get(id(child), 0) for child in children))
            continue
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def load_yaml(path: Path, raw: bytes | None = None) -> tuple[Any, yaml.Node | None]:
    """The data of one YAML file and its node tree (for line numbers). Raises `RuleError` with file and line
    for invalid YAML, object-constructing tags and files too big, once read or once expanded."""
    if raw is None:
        raw = path.read_bytes()
    if len(raw) > MAX_YAML_BYTES:
        raise RuleError(f"{path}: file of {len(raw):,} bytes refused (at most {MAX_YAML_BYTES:,})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RuleError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    loader = LOADER(text)
    try:  # parsed once: the data is constructed from the node tree the size check walked
        node = loader.get_single_node()
        if node is None:
            return None, None
        if expanded_size(node) > MAX_YAML_NODES:
            raise RuleError(
                f"{path}:{node.start_mark.line + 1}: refused: its aliases expand to more than {MAX_YAML_NODES:,} "
                "values (a YAML bomb?)"
            )
        return loader.construct_document(node), node
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        if isinstance(exc, yaml.constructor.ConstructorError):
            problem = f"{problem} (rule packs are plain data: tags that build objects are refused)"
        raise RuleError(f"{where}: invalid YAML: {problem}") from None
    finally:
        loader.dispose()
