// The rogue sites the server publishes by name (/v1/lists/rogue/hosts), held as declarativeNetRequest rules that
// block a listed site's pages before their first request (a name covers its subdomains). The rules are this
// browser's copy of the list: dynamic rules persist across service worker and browser restarts, so only the
// list's version is kept in chrome.storage. Each new version replaces the old rules in one updateDynamicRules call.
// Block rules need no host permission (a redirect rule would need access to every site); the service worker
// shows the warning page when it sees the blocked navigation.

import { getRogueHostList, setRogueHostList } from "./state.js";

const FIRST_RULE_ID = 100; // ids from here hold the list; lower ids are the service worker's own rules
const MAX_RULES = 800;
const HOSTS_PER_RULE = 1000;
const HOST_NAME = /^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/; // what requestDomains takes: lower-case ASCII (punycode) names

const isListRule = (rule) => rule.id >= FIRST_RULE_ID && rule.id < FIRST_RULE_ID + MAX_RULES;

// Chrome 121+ allows 30,000 dynamic block rules; Chrome 120, 5,000 dynamic and session rules together.
function ruleBudget() {
  const dnr = chrome.declarativeNetRequest;
  const limit = dnr.MAX_NUMBER_OF_DYNAMIC_RULES || dnr.MAX_NUMBER_OF_DYNAMIC_AND_SESSION_RULES || 5000;
  return Math.min(MAX_RULES, limit - FIRST_RULE_ID);
}

async function listRules() {
  return (await chrome.declarativeNetRequest.getDynamicRules()).filter(isListRule);
}

async function heldHosts() {
  return (await listRules()).flatMap((rule) => rule.condition.requestDomains || []);
}

// The list's version: the first 16 hex digits of SHA-256 of its sorted names, each followed by a newline.
export async function hostsChecksum(hosts) {
  const text = [...hosts].sort().map((host) => `${host}\n`).join("");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0"))
    .join("")
    .slice(0, 16);
}

function apply(held, body) {
  if (body.type === "diff") {
    const set = new Set(held);
    for (const host of body.removals || []) set.delete(host);
    for (const host of body.additions || []) set.add(host);
    return [...set].sort();
  }
  return [...(body.additions || [])].sort();
}

async function install(hosts) {
  const valid = hosts.filter((host) => HOST_NAME.test(host)); // anything else stays on the prefix path
  const addRules = [];
  for (let i = 0; i < valid.length && addRules.length < ruleBudget(); i += HOSTS_PER_RULE) {
    addRules.push({
      id: FIRST_RULE_ID + addRules.length,
      priority: 1,
      condition: { requestDomains: valid.slice(i, i + HOSTS_PER_RULE), resourceTypes: ["main_frame"] },
      action: { type: "block" },
    });
  }
  const removeRuleIds = (await listRules()).map((rule) => rule.id);
  await chrome.declarativeNetRequest.updateDynamicRules({ removeRuleIds, addRules });
}

// Brings the rules up to the server's list (only the changes since the version held, when the rules still hold
// it). {ok: true, published} or {ok: false, reason}; on failure the rules held stay as they are.
export async function refreshRogueHosts(client) {
  const held = await getRogueHostList();
  const hosts = held && held.version ? await heldHosts() : [];
  const intact = held && held.version && (await hostsChecksum(hosts)) === held.version;
  let answer = await client.rogueHosts(intact ? held.version : undefined);
  if (!answer.ok && answer.code === "not_published") {
    await dropRogueHostRules(); // the server keeps names to itself: listed sites are caught by their prefix
    await setRogueHostList({ published: false, fetchedAt: Date.now() });
    return { ok: true, published: false };
  }
  if (!answer.ok) return answer;
  let next = apply(intact ? hosts : [], answer.body);
  if ((await hostsChecksum(next)) !== answer.body.version) {
    answer = await client.rogueHosts(undefined); // the diff did not add up: start again from the whole list
    if (!answer.ok) return answer;
    next = apply([], answer.body);
    if ((await hostsChecksum(next)) !== answer.body.version) {
      return { ok: false, reason: "the list of rogue sites does not match its checksum" };
    }
  }
  if (!intact || held.version !== answer.body.version) {
    try {
      await install(next);
    } catch (error) {
      return { ok: false, reason: `the rogue sites could not be made blocking rules: ${error.message || error}` };
    }
  }
  await setRogueHostList({ published: true, version: answer.body.version, count: next.length, fetchedAt: Date.now() });
  return { ok: true, published: true };
}

export async function dropRogueHostRules() {
  const removeRuleIds = (await listRules()).map((rule) => rule.id);
  if (removeRuleIds.length) await chrome.declarativeNetRequest.updateDynamicRules({ removeRuleIds });
  await setRogueHostList(null);
}

// The rules' names as a Set, rebuilt when the version held changes (a cache: losing it costs one rebuild).
let cached = { version: null, hosts: new Set() };

// Whether `host` (or a parent domain of it) is on the published list this browser holds.
export async function onRogueHostList(host) {
  const held = await getRogueHostList();
  if (!host || !held || !held.version) return false;
  if (cached.version !== held.version) cached = { version: held.version, hosts: new Set(await heldHosts()) };
  const labels = host.split(".");
  for (let i = 0; i < labels.length - 1; i++) {
    if (cached.hosts.has(labels.slice(i).join("."))) return true;
  }
  return false;
}
