"""`GET /v1/audits/{id}/report.html`: the audit's results as the HTML report, behind the same key as its results."""

from __future__ import annotations

import lxml.html
from api_doubles import AUTH, TestClient, wait_for_audit

from rxcheck.report_html import content_security_policy


def test_the_report_of_a_finished_audit_shows_every_site(client: TestClient, monkeypatch) -> None:
    monkeypatch.setattr("rxcheck.api.routes_audits.RESULTS_PAGE", 3)  # the two passes each read several pages
    urls = ["https://pharmacy.example/", "rogue-pills.example", "dead-shop.example", "javascript:alert(1)",
            "rogue-two.example"]  # fmt: skip
    # The API refuses a list holding a URL that cannot be checked; one stored otherwise (queued from the command line,
    # or before uploads were checked) is reported all the same.
    services = client.app.state.services  # type: ignore[attr-defined]
    owner = services.keys.identify(AUTH["Authorization"].removeprefix("Bearer "))
    audit_id = client.portal.call(lambda: services.audits.submit(urls, jurisdiction="auto", owner=owner))  # type: ignore[union-attr]
    assert wait_for_audit(client, audit_id)["status"] == "done"

    response = client.get(f"/v1/audits/{audit_id}/report.html", headers=AUTH)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == content_security_policy()
    doc = lxml.html.fromstring(response.content)
    verdicts = sorted(s.get("data-verdict") for s in doc.xpath("//details[contains(@class, 'site')]"))
    assert verdicts == ["legitimate", "rogue", "rogue", "unreachable", "unreachable"]
    assert len(doc.xpath("//table[@id='sites-table']/tbody/tr")) == 5
    assert f"audit {audit_id} (done, 5 of 5 checked)" in doc.text_content()
    assert "javascript:alert(1)" in doc.text_content()
    assert not [h for h in doc.xpath("//a/@href") if h.lower().startswith("javascript")]


def test_the_report_needs_the_key_that_owns_the_audit(client: TestClient) -> None:
    audit_id = client.post("/v1/audits", json={"urls": ["https://pharmacy.example/"]}, headers=AUTH).json()["id"]

    assert client.get(f"/v1/audits/{audit_id}/report.html").status_code == 401
    other = client.get(f"/v1/audits/{audit_id}/report.html", headers={"Authorization": "Bearer other-key"})
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"
