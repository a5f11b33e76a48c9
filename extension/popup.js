// The popup: what rxcheck knows about the current tab's site, read from chrome.storage; buttons ask the
// service worker for a full check. `popup.html?tab=<id>` shows another tab (used by the tests).

import { getResult, getSettings, getTabState } from "./lib/state.js";
import { SITE_TYPES, describeAge, look } from "./lib/verdicts.js";

const TOP_FINDINGS = 5;
const SNIPPET_CHARS = 220;

function clip(text) {
  return text.length > SNIPPET_CHARS ? `${text.slice(0, SNIPPET_CHARS - 1).trimEnd()}…` : text;
}

function band(score) {
  return score <= 30 ? "low" : score <= 60 ? "medium" : "high";
}
const view = document.getElementById("view");

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "onclick") node.addEventListener("click", value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function currentTabId() {
  const asked = new URLSearchParams(location.search).get("tab");
  if (asked) return Number(asked);
  const [tab] = await chrome.tabs.query({ active: true, currentWindow: true });
  return tab ? tab.id : null;
}

function evidenceText(item) {
  if (typeof item === "string") return item;
  if (item && typeof item === "object") return item.snippet || item.text || item.message || "";
  return "";
}

function findingItem(finding) {
  const evidence = (finding.evidence || [])[0];
  return el(
    "li",
    { class: finding.kind },
    el("div", { class: "message" }, finding.message || finding.name),
    evidence && evidence.snippet ? el("blockquote", {}, clip(evidence.snippet)) : null,
    evidence && evidence.url
      ? el("div", { class: "where" }, "on ", el("a", { href: evidence.url, target: "_blank", rel: "noopener" }, evidence.url))
      : null,
  );
}

function topFindings(result) {
  const findings = Array.isArray(result.findings) ? [...result.findings] : [];
  findings.sort((a, b) => Math.abs(b.weight || 0) - Math.abs(a.weight || 0));
  return findings.slice(0, TOP_FINDINGS);
}

function facts(state, result) {
  const entry = state.entry || {};
  const siteType = result && result.site_type ? result.site_type.type : entry.site_type;
  const typeEvidence = result && result.site_type && Array.isArray(result.site_type.evidence)
    ? result.site_type.evidence.map(evidenceText).filter(Boolean)[0]
    : null;
  const score = typeof state.risk_score === "number" ? state.risk_score : null;
  const rows = [
    ["Risk score", score === null ? "not given" : el("span", {}, el("span", { class: "score" }, `${score}/100`),
      el("span", { class: `meter ${band(score)}` }, el("span", { style: `width:${Math.max(3, score)}%` })))],
    ["Site type", el("span", {}, SITE_TYPES[siteType] || "not given",
      typeEvidence ? el("div", { class: "muted small", id: "site-type-evidence" }, clip(typeEvidence)) : null)],
    ["Jurisdiction", (result && result.jurisdiction) || entry.jurisdiction || "not given"],
    ["Rules", (result && result.rules_version) || entry.rules_version || "not given"],
    ["Checked", describeAge(state.age_s)],
    ["From", state.source === "list" ? "rxcheck's lists (private lookup)" : "a full check of the site"],
  ];
  return el("dl", { class: "facts" }, rows.map(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]));
}

function button(label, { primary = false, fresh = false, tabId }) {
  const node = el("button", { class: primary ? "primary" : null, id: fresh ? "check-again" : "check-site" }, label);
  node.addEventListener("click", async () => {
    node.disabled = true;
    node.textContent = "Checking…";
    await chrome.runtime.sendMessage({ type: "check", tabId, fresh });
    await render();
  });
  return node;
}

async function render() {
  const tabId = await currentTabId();
  const settings = await getSettings();
  const state = tabId === null ? null : await getTabState(tabId);
  const full = state && state.origin ? await getResult(state.origin) : null;
  const result = full ? full.result : null;
  const sent = el("p", { class: "muted small" }, `A check sends only this site's origin to ${settings.apiBase}.`);
  const parts = [];

  if (!state || state.status === "unlisted") {
    parts.push(
      el("div", { class: "verdict unlisted" }, el("h1", {}, "No verdict yet"), state ? el("div", { class: "host" }, state.host) : null),
      el("p", { class: "reason" }, settings.mode === "off"
        ? "rxcheck is off (see its options). You can still check this site."
        : "This site is on none of rxcheck's lists."),
      el("div", { class: "actions" }, button("Check this site", { primary: true, tabId })),
      sent,
    );
  } else if (state.status === "checking") {
    parts.push(el("div", { class: "verdict unlisted" }, el("h1", {}, "Checking…"), el("div", { class: "host" }, state.host)));
  } else if (state.status === "unknown") {
    parts.push(
      el("div", { class: "verdict unknown", id: "verdict" }, el("h1", {}, "Unknown"), el("div", { class: "host" }, state.host)),
      el("p", { class: "reason error", id: "reason" }, `rxcheck cannot say: ${state.reason}.`),
      el("div", { class: "actions" }, button("Check again", { fresh: true, tabId })),
    );
  } else {
    const { label } = look(state.verdict);
    const reason = (result && result.verdict_reason) || (state.entry && state.entry.verdict_reason);
    parts.push(
      el("div", { class: `verdict ${state.verdict}`, id: "verdict" }, el("h1", {}, label), el("div", { class: "host" }, state.host)),
      reason ? el("p", { class: "reason" }, reason) : null,
      state.note ? el("p", { class: "reason error" }, state.note) : null,
      facts(state, result),
    );
    if (result && state.source === "check") {
      const findings = topFindings(result);
      parts.push(
        el("h2", {}, findings.length ? "Top findings" : "No findings"),
        el("ul", { class: "findings", id: "findings" }, findings.map(findingItem)),
        el("div", { class: "actions" }, button("Check again", { fresh: true, tabId })),
      );
    } else {
      parts.push(el("div", { class: "actions" }, button("Check this site", { primary: true, tabId }),
        el("span", { class: "muted small" }, "for the findings and evidence")), sent);
    }
  }
  view.replaceChildren(...parts.filter(Boolean));
}

render().catch((error) => {
  view.replaceChildren(el("p", { class: "error" }, `rxcheck could not show this tab: ${error.message || error}`));
});
