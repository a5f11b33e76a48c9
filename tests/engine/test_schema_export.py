import json

from rxcheck.engine.loader import json_schema
from rxcheck.reference import bundled_rules_dir


def test_exported_json_schema_is_up_to_date():
    exported = json.loads((bundled_rules_dir() / "schema.json").read_text())
    assert exported == json_schema(), "rules/schema.json is stale: run `rxcheck rules schema > rules/schema.json`"


def test_schema_names_the_categories_and_kinds():
    schema = json_schema()
    assert set(schema["properties"]["category"]["enum"]) == {
        "prescription", "licensing", "location", "contact", "pricing", "payment",
        "policies", "seals", "product_safety", "domain", "security", "content",
    }  # fmt: skip
    assert schema["properties"]["kind"]["enum"] == ["red_flag", "trust_signal"]
