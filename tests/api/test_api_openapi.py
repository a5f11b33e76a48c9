"""The OpenAPI document clients (the browser extension) rely on, pinned by a snapshot.

After an intended API change, regenerate it with:

    RXCHECK_UPDATE_SNAPSHOTS=1 pytest tests/api/test_api_openapi.py

and review the diff of tests/api/openapi.snapshot.json like any other change.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pytest
from api_doubles import TestClient

SNAPSHOT = Path(__file__).with_name("openapi.snapshot.json")


def _dump(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_openapi_matches_the_snapshot(client: TestClient) -> None:
    current = _dump(client.get("/openapi.json").json())
    if os.environ.get("RXCHECK_UPDATE_SNAPSHOTS") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.write_text(current, encoding="utf-8")
        if os.environ.get("RXCHECK_UPDATE_SNAPSHOTS") != "1":
            pytest.fail(f"{SNAPSHOT.name} did not exist and was written; review it and run again")
        return
    expected = SNAPSHOT.read_text(encoding="utf-8")
    if current != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                current.splitlines(keepends=True),
                "openapi.snapshot.json",
                "/openapi.json",
                n=2,
            )
        )
        pytest.fail(
            "The OpenAPI document changed. If the change is intended, regenerate the snapshot with\n"
            "    RXCHECK_UPDATE_SNAPSHOTS=1 pytest tests/api/test_api_openapi.py\n"
            "and review its diff.\n\n" + diff[:6000]
        )


def test_every_operation_documents_its_responses(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert set(document["paths"]) == {
        "/v1/verdict",
        "/v1/audits",
        "/v1/audits/upload",
        "/v1/audits/{audit_id}",
        "/v1/audits/{audit_id}/results",
        "/v1/audits/{audit_id}/report.html",
        "/v1/rules",
        "/v1/lists/{name}",
        "/v1/hashes",
        "/healthz",
    }
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            success = responses.get("200") or responses.get("202")
            assert success and success.get("content"), f"{method} {path}: no success body documented"
            assert operation.get("summary") and operation.get("tags"), f"{method} {path}"
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, f"{method} {path} {status}"
    verdict = document["paths"]["/v1/verdict"]["get"]["responses"]["200"]["content"]["application/json"]
    assert verdict["schema"] == {"$ref": "#/components/schemas/VerdictResponse"}
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
