// The service worker: keeps the lists fresh, judges each top-level page, sets the badge, and keeps the
// blocking rules in step with the sites known to be rogue. It may be stopped at any moment: every
// listener is registered at the top level, all state is in chrome.storage, and the only clock is chrome.alarms.

import { ApiClient } from "./lib/api.js";
import { siteHost, warnedUrl, webUrl } from "./lib/hashing.js";
import { lookUp, refreshLists } from "./lib/lists.js";
import { dropRogueHostRules, onRogueHostList } from "./lib/rogue-rules.js";
import {
  clearTabState,
  forgetTab,
  getGrants,
  getResult,
  getRogueHosts,
  getSettings,
  getTabState,
  putResult,
  setLastSafe,
  setGrants,
  setRogueHosts,
  setTabState,
} from "./lib/state.js";
import { look } from "./lib/verdicts.js";

const LIST_ALARM = "rxcheck-refresh-lists";
const LIST_PERIOD_MIN = 30;
const ROGUE_RULE_ID = 1;
const GRANT_RULE_BASE = 1000;
const RESULT_REUSE_MS = 60 * 60 * 1000; // automatic mode reuses a full result this long

const warningPage = () => chrome.runtime.getURL("warning.html");

function guard(promise) {
  promise.catch((error) => console.warn("rxcheck:", error && error.message ? error.message : String(error)));
}

chrome.runtime.onInstalled.addListener(() => guard(setUp()));
chrome.runtime.onStartup.addListener(() => guard(setUp()));
chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === LIST_ALARM) guard(refresh());
});
chrome.storage.onChanged.addListener((changes, area) => {
  if (area === "local" && changes.settings) guard(settingsChanged());
});
chrome.webNavigation.onBeforeNavigate.addListener((details) => {
  if (details.frameId === 0) guard(beforeNavigate(details.tabId, details.url));
});
chrome.webNavigation.onCommitted.addListener((details) => {
  if (details.frameId === 0) guard(committed(details.tabId, details.url));
});
chrome.webNavigation.onErrorOccurred.addListener((details) => {
  if (details.frameId === 0 && details.error === "net::ERR_BLOCKED_BY_CLIENT") guard(blocked(details.tabId, details.url));
});
chrome.tabs.onRemoved.addListener((tabId) => guard(tabClosed(tabId)));
chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  handle(message, sender).then(sendResponse, (error) => sendResponse({ ok: false, reason: String(error) }));
  return true;
});

async function setUp() {
  if (!(await chrome.alarms.get(LIST_ALARM))) {
    await chrome.alarms.create(LIST_ALARM, { periodInMinutes: LIST_PERIOD_MIN });
  }
  await syncRogueRule();
  await refresh();
}

async function settingsChanged() {
  await syncRogueRule();
  await refresh();
}

async function refresh() {
  const settings = await getSettings();
  if (settings.mode === "off") return { ok: true };
  return refreshLists(settings);
}

// -- the warning page --
// A site known to be rogue is stopped by a declarativeNetRequest rule before any request leaves the browser, and
// the tab is sent to the warning page. The rules block rather than redirect: a redirect rule works only on sites
// the extension has host access to, which would mean every site; a block rule needs none. The sites the server
// publishes by name are in the rules from lib/rogue-rules.js, so even their first visit is stopped; the rule here
// holds the sites this browser learnt are rogue otherwise (a prefix hit confirmed by its full hash, a full check).

async function syncRogueRule() {
  const settings = await getSettings();
  if (settings.mode === "off") await dropRogueHostRules();
  const hosts = Object.keys(await getRogueHosts()).sort();
  const addRules = [];
  if (settings.mode !== "off" && hosts.length > 0) {
    addRules.push({
      id: ROGUE_RULE_ID,
      priority: 1,
      condition: { requestDomains: hosts, resourceTypes: ["main_frame"] },
      action: { type: "block" },
    });
  }
  await chrome.declarativeNetRequest.updateDynamicRules({ removeRuleIds: [ROGUE_RULE_ID], addRules });
}

async function rememberRogue(host, detail) {
  const hosts = await getRogueHosts();
  if (hosts[host]) return;
  hosts[host] = { since: Date.now(), ...detail };
  await setRogueHosts(hosts);
  await syncRogueRule();
}

async function forgetRogue(host) {
  const hosts = await getRogueHosts();
  if (!hosts[host]) return;
  delete hosts[host];
  await setRogueHosts(hosts);
  await syncRogueRule();
}

async function showWarning(tabId, url) {
  await chrome.tabs.update(tabId, { url: `${warningPage()}#${url}` });
}

// The entry of a site known to be rogue that covers `host` (the host itself or a parent domain), or null.
async function rogueEntry(host) {
  const hosts = await getRogueHosts();
  const labels = host ? host.split(".") : [];
  for (let i = 0; i < labels.length - 1; i++) {
    const entry = hosts[labels.slice(i).join(".")];
    if (entry) return entry;
  }
  return null;
}

async function knownRogue(host) {
  return (await rogueEntry(host)) !== null || (await onRogueHostList(host));
}

const ruleHost = (expression) => expression.replace(/\/$/, "").replace(/^www\./, "");

async function blocked(tabId, url) {
  if (await knownRogue(siteHost(url))) await showWarning(tabId, url);
}

// Before a page loads: a site on the rogue prefix list goes to the warning page. Sites known to be rogue (on the
// published list, or learnt here) are left to the blocking rules, which stop them before any request; this
// catches the first visit to the others (when the server publishes prefixes only), as the navigation starts.
async function beforeNavigate(tabId, url) {
  const settings = await getSettings();
  if (settings.mode === "off" || !webUrl(url)) return;
  const host = siteHost(url);
  if ((await getGrants())[tabId] === host || (await knownRogue(host))) return;
  const found = await lookUp(settings, url, { onlyList: "rogue" });
  if (found.status !== "listed") return;
  await rememberRogue(ruleHost(found.expression), { risk_score: found.entry.risk_score });
  await showWarning(tabId, url);
}

// What a tab on the warning page shows. A site stopped by the published list is known by name only: its
// verdict's details (risk score, reason, age) come from its prefix's full hashes, as for any listed site.
async function warned(tabId, target) {
  const host = siteHost(target.href);
  const state = { origin: target.origin, host, status: "verdict", source: "list", verdict: "rogue" };
  const known = await rogueEntry(host);
  await setTabState(tabId, { ...state, risk_score: known ? known.risk_score : null, age_s: null });
  if (known) return;
  const found = await lookUp(await getSettings(), target.href, { onlyList: "rogue" });
  if (found.status !== "listed") return;
  await setTabState(tabId, { ...state, risk_score: found.entry.risk_score, age_s: found.entry.age_s, entry: found.entry });
  await rememberRogue(ruleHost(found.expression), { risk_score: found.entry.risk_score }); // the warning page shows it
}

// -- judging a page --

async function committed(tabId, url) {
  if (url.startsWith(warningPage())) {
    await setBadge(tabId, "rogue", "rxcheck: rogue pharmacy, warning shown");
    const target = webUrl(warnedUrl(url));
    if (target) await warned(tabId, target);
    return;
  }
  const grants = await getGrants();
  const continued = grants[tabId] !== undefined && grants[tabId] === siteHost(url);
  if (continued) await endGrant(tabId);
  const judged = await judge(tabId, url, { continued });
  if (webUrl(url) && !(judged.state && judged.state.verdict === "rogue")) await setLastSafe(tabId, url);
}

async function looksLikePharmacy(host) {
  const response = await fetch(chrome.runtime.getURL("pharmacy-terms.json"));
  const { terms } = await response.json();
  const words = host.toLowerCase();
  return terms.some((term) => words.includes(term));
}

// What the badge and popup show for a tab. `ask` is the person's own "Check this site" ("Check again": fresh).
async function judge(tabId, url, { ask = false, fresh = false, continued = false } = {}) {
  const settings = await getSettings();
  const parsed = webUrl(url);
  if (!parsed || (settings.mode === "off" && !ask)) {
    await forgetTab(tabId);
    await setBadge(tabId, null, "rxcheck");
    return { ok: true };
  }
  const origin = parsed.origin;
  const host = siteHost(url);
  const base = { origin, host, mode: settings.mode, continued };
  const listed = settings.mode === "off" ? { status: "unlisted" } : await lookUp(settings, origin);

  let full = await getResult(origin);
  const wantFull =
    ask ||
    (settings.mode === "automatic" &&
      (listed.status === "listed" || (await looksLikePharmacy(host))) &&
      (!full || Date.now() - full.storedAt > RESULT_REUSE_MS));
  let fullError = null;
  if (wantFull) {
    await setTabState(tabId, { ...base, status: "checking" });
    const answer = await new ApiClient(settings).verdict(origin, fresh);
    if (answer.ok) {
      full = { result: answer.body, storedAt: Date.now() };
      await putResult(origin, full);
    } else {
      fullError = answer.reason;
    }
  }

  let state;
  if (full && !fullError) {
    const r = full.result;
    const ageS = ((r.cache && r.cache.age_s) || 0) + Math.round((Date.now() - full.storedAt) / 1000);
    state = { ...base, status: "verdict", source: "check", verdict: r.verdict, risk_score: r.risk_score, age_s: ageS };
  } else if (listed.status === "listed") {
    const e = listed.entry;
    state = { ...base, status: "verdict", source: "list", verdict: e.verdict, risk_score: e.risk_score, age_s: e.age_s };
    state.entry = e;
    if (fullError) state.note = `The full check failed: ${fullError}.`;
  } else if (fullError || listed.status === "unknown") {
    state = { ...base, status: "unknown", verdict: "unknown", reason: fullError || listed.reason };
  } else {
    state = { ...base, status: "unlisted" };
  }
  await setTabState(tabId, state);

  if (state.status === "verdict") {
    const label = look(state.verdict).label;
    await setBadge(tabId, state.verdict, `rxcheck: ${label.toLowerCase()} (risk ${state.risk_score}/100)`);
    if (state.verdict === "rogue") {
      await rememberRogue(host, { risk_score: state.risk_score });
      if (state.source === "check" && !ask && !continued) await showWarning(tabId, url);
    } else if (state.source === "check") {
      await forgetRogue(host);
    }
  } else if (state.status === "unknown") {
    await setBadge(tabId, "unknown", `rxcheck: unknown: ${state.reason}`);
  } else {
    await setBadge(tabId, null, "rxcheck: no verdict for this site yet");
  }
  return { ok: true, state };
}

async function setBadge(tabId, verdict, title) {
  try {
    if (!verdict) {
      await chrome.action.setBadgeText({ tabId, text: "" });
    } else {
      const { badge, color } = look(verdict);
      await chrome.action.setBadgeText({ tabId, text: badge });
      await chrome.action.setBadgeBackgroundColor({ tabId, color });
      await chrome.action.setBadgeTextColor({ tabId, color: "#ffffff" });
    }
    await chrome.action.setTitle({ tabId, title });
  } catch (error) {
    // the tab closed meanwhile: there is no badge left to set
    if (!String(error).includes("No tab with id")) throw error;
  }
}

// -- "continue once for this site" --

async function grant(tabId, url) {
  const host = siteHost(url);
  if (!host) return { ok: false, reason: "not a web page" };
  await setGrants({ ...(await getGrants()), [tabId]: host });
  await chrome.declarativeNetRequest.updateSessionRules({
    removeRuleIds: [GRANT_RULE_BASE + tabId],
    addRules: [
      {
        id: GRANT_RULE_BASE + tabId,
        priority: 2,
        action: { type: "allow" },
        condition: { requestDomains: [host], tabIds: [tabId], resourceTypes: ["main_frame"] },
      },
    ],
  });
  await chrome.tabs.update(tabId, { url });
  return { ok: true };
}

async function endGrant(tabId) {
  const grants = await getGrants();
  delete grants[tabId];
  await setGrants(grants);
  await chrome.declarativeNetRequest.updateSessionRules({ removeRuleIds: [GRANT_RULE_BASE + tabId] });
}

async function tabClosed(tabId) {
  await clearTabState(tabId);
  if ((await getGrants())[tabId] !== undefined) await endGrant(tabId);
}

// -- messages from the popup, the warning page and the options page --

async function handle(message, sender) {
  switch (message && message.type) {
    case "check": {
      const state = await getTabState(message.tabId);
      const url = (state && state.origin) || (await chrome.tabs.get(message.tabId)).url;
      if (!url) return { ok: false, reason: "rxcheck cannot see this tab's address" };
      return judge(message.tabId, url, { ask: true, fresh: Boolean(message.fresh) });
    }
    case "continue":
      if (!sender.tab) return { ok: false, reason: "no tab" };
      return grant(sender.tab.id, message.url);
    case "refresh-lists":
      return refresh();
    default:
      return { ok: false, reason: "unknown message" };
  }
}
