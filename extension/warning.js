// The warning page, shown instead of a site known to be rogue. Its address carries the page that was asked
// for after "#"; the reasons come from what the extension holds (nothing is fetched here), and are shown again
// when it learns more (a site stopped by the published list gets its risk score from the full hashes).

import { siteHost, warnedUrl, webUrl } from "./lib/hashing.js";
import { getLastSafe, getResult, getRogueHosts } from "./lib/state.js";
import { describeAge } from "./lib/verdicts.js";

const MAX_REASONS = 4;
const target = warnedUrl(location.href);
const parsed = webUrl(target);

function item(text, snippet) {
  const li = document.createElement("li");
  li.textContent = text;
  if (snippet) {
    const quote = document.createElement("blockquote");
    quote.className = "small muted";
    quote.textContent = `“${snippet}”`;
    li.append(quote);
  }
  return li;
}

async function show() {
  document.getElementById("site").textContent = parsed ? parsed.host : "an unknown address";
  const reasons = [];
  const full = parsed ? await getResult(parsed.origin) : null;
  const result = full && full.result;
  if (result && Array.isArray(result.findings)) {
    if (result.verdict_reason) reasons.push(item(result.verdict_reason));
    const flags = result.findings.filter((f) => f.kind === "red_flag").sort((a, b) => (b.weight || 0) - (a.weight || 0));
    for (const flag of flags.slice(0, MAX_REASONS)) {
      reasons.push(item(flag.message || flag.name, flag.evidence && flag.evidence[0] ? flag.evidence[0].snippet : ""));
    }
  }
  const host = parsed ? siteHost(target) : null;
  const known = host ? await findKnown(host) : null;
  if (!reasons.length) {
    const score = known && typeof known.risk_score === "number" ? ` with a risk score of ${known.risk_score}/100` : "";
    reasons.push(item(`It is on rxcheck's list of rogue pharmacies${score}.`));
  }
  const when = known && known.since ? ` Known to this browser since ${new Date(known.since).toLocaleDateString()}.` : "";
  const age = result && result.cache ? ` Verdict made ${describeAge(result.cache.age_s)}.` : "";
  document.getElementById("reasons").replaceChildren(...reasons); // all at once: two showings never mix
  document.getElementById("details").textContent = `${age}${when}`.trim();
}

async function findKnown(host) {
  const hosts = await getRogueHosts();
  const labels = host.split(".");
  for (let i = 0; i < labels.length - 1; i++) {
    const candidate = labels.slice(i).join(".");
    if (hosts[candidate]) return hosts[candidate];
  }
  return null;
}

// Back to the last page of this tab that was not rogue (the history may hold the stopped page, or not).
document.getElementById("back").addEventListener("click", async () => {
  const tab = await chrome.tabs.getCurrent();
  const safe = tab ? await getLastSafe(tab.id) : null;
  if (safe) location.replace(safe);
  else await chrome.tabs.update({ url: "chrome://newtab/" });
});

const proceed = document.getElementById("continue");
proceed.disabled = !parsed;
proceed.addEventListener("click", async () => {
  proceed.disabled = true;
  await chrome.runtime.sendMessage({ type: "continue", url: target });
});

function showOrSay() {
  show().catch((error) => {
    document.getElementById("details").textContent = `rxcheck could not show the reasons: ${error.message || error}`;
  });
}

showOrSay();
chrome.storage.onChanged.addListener((changes, area) => {
  if (area === "local" && (changes.rogueHosts || changes.results)) showOrSay();
});
