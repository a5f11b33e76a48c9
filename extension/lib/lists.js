// The three hash-prefix lists: download (whole, or the changes since the version held), verify, look up; and
// with them the rogue sites by name, when the server publishes them (lib/rogue-rules.js).

import { ApiClient } from "./api.js";
import { hashesForUrl } from "./hashing.js";
import { refreshRogueHosts } from "./rogue-rules.js";
import {
  LIST_NAMES,
  clearPrefixAnswers,
  getListStatus,
  getLists,
  getPrefixAnswer,
  putPrefixAnswer,
  setListStatus,
  setLists,
} from "./state.js";

const PREFIX_HEX = 8;
const DEFAULT_REFRESH_S = 300;

// Lookups need the prefixes as Sets; a Set is rebuilt only when a list's version changes. This is a cache of
// what chrome.storage holds, so losing it with the service worker costs one rebuild, never state.
const prefixSets = new Map();

function prefixSet(list) {
  const cached = prefixSets.get(list.name);
  if (cached && cached.version === list.version) return cached.set;
  const set = new Set(list.prefixes);
  prefixSets.set(list.name, { version: list.version, set });
  return set;
}

async function checksum(prefixes) {
  const bytes = new Uint8Array(prefixes.length * (PREFIX_HEX / 2));
  prefixes.forEach((hex, i) => {
    for (let j = 0; j < PREFIX_HEX / 2; j++) bytes[i * (PREFIX_HEX / 2) + j] = parseInt(hex.slice(2 * j, 2 * j + 2), 16);
  });
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0"))
    .join("")
    .slice(0, 16);
}

function apply(held, body) {
  if (body.type === "diff" && held && held.version === body.since) {
    const set = new Set(held.prefixes);
    for (const prefix of body.removals || []) set.delete(prefix);
    for (const prefix of body.additions || []) set.add(prefix);
    return [...set].sort();
  }
  return [...(body.additions || [])].sort();
}

async function fetchList(client, name, held) {
  let answer = await client.list(name, held ? held.version : undefined);
  if (!answer.ok) return answer;
  let prefixes = apply(held, answer.body);
  if ((await checksum(prefixes)) !== answer.body.version) {
    answer = await client.list(name, undefined); // the diff did not add up: start again from the whole list
    if (!answer.ok) return answer;
    prefixes = apply(null, answer.body);
    if ((await checksum(prefixes)) !== answer.body.version) {
      return { ok: false, reason: `the ${name} list does not match its checksum` };
    }
  }
  const list = {
    name,
    version: answer.body.version,
    prefixes,
    fetchedAt: Date.now(),
    refreshS: answer.body.refresh_s || DEFAULT_REFRESH_S,
  };
  return { ok: true, list };
}

// Brings the lists up to date; on failure keeps what is held and records the reason.
export async function refreshLists(settings) {
  const client = new ApiClient(settings);
  const held = await getLists();
  const next = { ...held };
  let changed = false;
  for (const name of LIST_NAMES) {
    const answer = await fetchList(client, name, held[name]);
    if (!answer.ok) {
      await setListStatus({ ok: false, reason: answer.reason, at: Date.now() });
      return { ok: false, reason: answer.reason };
    }
    changed = changed || !held[name] || held[name].version !== answer.list.version;
    next[name] = answer.list;
  }
  await setLists(next);
  if (changed) await clearPrefixAnswers();
  const hosts = await refreshRogueHosts(client);
  if (!hosts.ok) {
    await setListStatus({ ok: false, reason: hosts.reason, at: Date.now() });
    return { ok: false, reason: hosts.reason };
  }
  await setListStatus({ ok: true, at: Date.now(), rogueHosts: hosts.published });
  return { ok: true };
}

async function fullHashes(client, prefix, refreshS) {
  const cached = await getPrefixAnswer(prefix);
  if (cached && Date.now() - cached.fetchedAt < refreshS * 1000) return { ok: true, matches: cached.matches, fetchedAt: cached.fetchedAt };
  const answer = await client.hashes(prefix);
  if (!answer.ok) return answer;
  const entry = { fetchedAt: Date.now(), matches: answer.body.matches || [] };
  await putPrefixAnswer(prefix, entry);
  return { ok: true, ...entry };
}

// What the lists say about a page, asking the server for one prefix's full hashes at most per host expression:
//   {status: "listed", entry, expression}  the host (or a parent) is on a list; entry is /v1/hashes' match
//   {status: "unlisted"}                   on no list
//   {status: "unknown", reason}            the lists or the full hashes could not be had
// With onlyList, only that list's prefixes are considered (the warning check before a page loads).
export async function lookUp(settings, url, { onlyList } = {}) {
  const lists = await getLists();
  if (!LIST_NAMES.every((name) => lists[name])) {
    const status = await getListStatus();
    const reason = status && !status.ok ? status.reason : "the lists have not been downloaded yet";
    return { status: "unknown", reason };
  }
  const hits = [];
  for (const { expression, hash } of await hashesForUrl(url)) {
    const prefix = hash.slice(0, PREFIX_HEX);
    for (const name of onlyList ? [onlyList] : LIST_NAMES) {
      if (prefixSet(lists[name]).has(prefix)) hits.push({ expression, hash, prefix, refreshS: lists[name].refreshS });
    }
  }
  if (hits.length === 0) return { status: "unlisted" };
  const client = new ApiClient(settings);
  for (const hit of hits) {
    const answer = await fullHashes(client, hit.prefix, hit.refreshS);
    if (!answer.ok) return { status: "unknown", reason: answer.reason };
    const entry = answer.matches.find((match) => match.hash === hit.hash);
    if (entry && (!onlyList || entry.list === onlyList)) {
      const ageS = (entry.age_s || 0) + Math.round((Date.now() - answer.fetchedAt) / 1000);
      return { status: "listed", entry: { ...entry, age_s: ageS }, expression: hit.expression };
    }
  }
  return { status: "unlisted" };
}
