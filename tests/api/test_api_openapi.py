"""The OpenAPI document clients (the browser extension) rely on, pinned by a snapshot.

After an intended API change, regenerate it with:

    RXCHECK_UPDATE_SNAPSHOTS=1 pytest tests/api/test_api_openapi.py

and review the diff of tests/api/openapi.snapshot.json like any other change.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from pathlib import Path

import pytest
from api_doubles import TestClient
from openapi_spec_validator import validate

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
        "/v1/lists/rogue/hosts",
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


def test_the_document_is_valid_openapi(client: TestClient) -> None:
    document = client.get("/openapi.json").json()

    validate(document)  # raises, naming the first error, when the document is not valid for its version
    assert document["openapi"].startswith("3.1.")


def test_operation_ids_read_well_in_generated_clients(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    ids = {(method, path): op["operationId"] for path, ops in document["paths"].items() for method, op in ops.items()}

    assert ids == {
        ("get", "/v1/verdict"): "getVerdict",
        ("post", "/v1/audits"): "createAudit",
        ("get", "/v1/audits/{audit_id}"): "getAudit",
        ("get", "/v1/audits/{audit_id}/results"): "getAuditResults",
        ("get", "/v1/rules"): "getRules",
        ("get", "/healthz"): "getHealth",
        ("get", "/v1/lists/{name}"): "getList",
        ("get", "/v1/lists/rogue/hosts"): "getRogueHosts",
        ("get", "/v1/hashes"): "getHashes",
        ("delete", "/v1/audits/{audit_id}"): "cancelAudit",
        ("get", "/v1/audits/{audit_id}/report.html"): "getAuditReport",
        ("post", "/v1/audits/upload"): "uploadAudit",
    }


def test_a_new_audit_documents_its_location(client: TestClient) -> None:
    created = client.get("/openapi.json").json()["paths"]["/v1/audits"]["post"]["responses"]

    assert "Location" in created["202"]["headers"]
    assert "415" in created


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_only_local_assets(client: TestClient, page: str) -> None:
    response = client.get(page)
    assets = re.findall(r"""(?:src|href|url)\s*[=:]\s*["']([^"']+)["']""", response.text)

    assert response.status_code == 200
    assert "//" not in response.text.replace("window.location.origin", "")  # no absolute or protocol-relative URL
    assert assets, "no asset found on the page"
    for asset in assets:
        assert asset.startswith("/"), asset
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert served.content, asset
    scripts = [a for a in assets if a.endswith(".js")]
    assert scripts and all(len(client.get(a).content) > 100_000 for a in scripts)  # the real bundles
