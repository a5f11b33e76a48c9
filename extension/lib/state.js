// All state lives in chrome.storage (the service worker can be stopped at any moment):
//   storage.local    settings, the three hash-prefix lists, full hashes fetched per prefix, sites known to be
//                    rogue (they make the blocking rule), the version of the published rogue hosts list (its
//                    names are in the dynamic rules themselves), full results shown in the popup
//   storage.session  what each tab shows (verdict, reason), its last page that was not rogue, "continue once"
//                    grants

export const MODES = ["private", "automatic", "off"];
export const DEFAULT_SETTINGS = { apiBase: "http://127.0.0.1:8000", apiKey: "", mode: "private" };
export const LIST_NAMES = ["rogue", "suspicious", "legitimate"];
const MAX_RESULTS = 50;
const MAX_PREFIX_ANSWERS = 500;

export async function getSettings() {
  const { settings } = await chrome.storage.local.get("settings");
  const merged = { ...DEFAULT_SETTINGS, ...(settings || {}) };
  if (!MODES.includes(merged.mode)) merged.mode = DEFAULT_SETTINGS.mode;
  return merged;
}

export async function saveSettings(settings) {
  await chrome.storage.local.set({ settings: { ...(await getSettings()), ...settings } });
}

// {rogue: {version, prefixes: [hex], fetchedAt, refreshS}, ...} or {} before the first download.
export async function getLists() {
  const { lists } = await chrome.storage.local.get("lists");
  return lists || {};
}

export async function setLists(lists) {
  await chrome.storage.local.set({ lists });
}

export async function getListStatus() {
  const { listStatus } = await chrome.storage.local.get("listStatus");
  return listStatus || null;
}

export async function setListStatus(status) {
  await chrome.storage.local.set({ listStatus: status });
}

export async function getPrefixAnswer(prefix) {
  const { prefixAnswers } = await chrome.storage.local.get("prefixAnswers");
  return (prefixAnswers || {})[prefix] || null;
}

export async function putPrefixAnswer(prefix, answer) {
  const { prefixAnswers } = await chrome.storage.local.get("prefixAnswers");
  const all = { ...(prefixAnswers || {}), [prefix]: answer };
  const keys = Object.keys(all).sort((a, b) => all[a].fetchedAt - all[b].fetchedAt);
  for (const key of keys.slice(0, Math.max(0, keys.length - MAX_PREFIX_ANSWERS))) delete all[key];
  await chrome.storage.local.set({ prefixAnswers: all });
}

export async function clearPrefixAnswers() {
  await chrome.storage.local.remove("prefixAnswers");
}

// Sites (host without www.) known to be rogue: {host: {since, risk_score}}.
export async function getRogueHosts() {
  const { rogueHosts } = await chrome.storage.local.get("rogueHosts");
  return rogueHosts || {};
}

export async function setRogueHosts(rogueHosts) {
  await chrome.storage.local.set({ rogueHosts });
}

// The published rogue hosts list the dynamic rules hold: {published: true, version, count, fetchedAt},
// {published: false, fetchedAt} when the server publishes prefixes only, or null.
export async function getRogueHostList() {
  const { rogueHostList } = await chrome.storage.local.get("rogueHostList");
  return rogueHostList || null;
}

export async function setRogueHostList(rogueHostList) {
  if (rogueHostList) await chrome.storage.local.set({ rogueHostList });
  else await chrome.storage.local.remove("rogueHostList");
}

export async function getResult(origin) {
  const { results } = await chrome.storage.local.get("results");
  return (results || {})[origin] || null;
}

export async function putResult(origin, entry) {
  const { results } = await chrome.storage.local.get("results");
  const all = { ...(results || {}), [origin]: entry };
  const keys = Object.keys(all).sort((a, b) => all[a].storedAt - all[b].storedAt);
  for (const key of keys.slice(0, Math.max(0, keys.length - MAX_RESULTS))) delete all[key];
  await chrome.storage.local.set({ results: all });
}

export async function getTabState(tabId) {
  const key = `tab:${tabId}`;
  const stored = await chrome.storage.session.get(key);
  return stored[key] || null;
}

export async function setTabState(tabId, state) {
  await chrome.storage.session.set({ [`tab:${tabId}`]: { ...state, updatedAt: Date.now() } });
}

// What a tab shows is forgotten; its last safe page is kept (for "Go back") until the tab closes.
export async function forgetTab(tabId) {
  await chrome.storage.session.remove(`tab:${tabId}`);
}

export async function clearTabState(tabId) {
  await chrome.storage.session.remove([`tab:${tabId}`, `safe:${tabId}`]);
}

// The last page of a tab that was not rogue: where the warning page's "Go back" leads.
export async function getLastSafe(tabId) {
  const key = `safe:${tabId}`;
  return (await chrome.storage.session.get(key))[key] || null;
}

export async function setLastSafe(tabId, url) {
  await chrome.storage.session.set({ [`safe:${tabId}`]: url });
}

// "Continue once for this site": {tabId: host}, removed when that navigation commits.
export async function getGrants() {
  const { grants } = await chrome.storage.session.get("grants");
  return grants || {};
}

export async function setGrants(grants) {
  await chrome.storage.session.set({ grants });
}
