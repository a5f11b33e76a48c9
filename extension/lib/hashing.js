// Host expressions and their hashes, as the Safe Browsing Update API makes them (the server side is
// api/lists.py: both must give the same hashes). The URL parser has already lower-cased the host, turned an
// IDN into punycode and any IPv4 spelling into dotted decimal; what is left is the dots.

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export function canonicalHost(host) {
  return host.split(".").filter(Boolean).join(".").toLowerCase();
}

export function isIp(host) {
  return IPV4.test(host) || host.startsWith("[");
}

// The exact host, then up to four parent domains from its last five components, never the TLD alone.
export function hostExpressions(hostname) {
  const host = canonicalHost(hostname);
  if (!host) return [];
  const expressions = [host + "/"];
  if (isIp(host)) return expressions;
  const parts = host.split(".").slice(-5);
  for (let start = 0; start < parts.length - 1; start++) {
    const candidate = parts.slice(start).join(".") + "/";
    if (!expressions.includes(candidate)) expressions.push(candidate);
  }
  return expressions.slice(0, 5);
}

export async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

// [{expression, hash}] for a page URL's host, most specific first; [] for anything but http(s).
export async function hashesForUrl(url) {
  const parsed = webUrl(url);
  if (!parsed) return [];
  const expressions = hostExpressions(parsed.hostname);
  return Promise.all(expressions.map(async (expression) => ({ expression, hash: await sha256Hex(expression) })));
}

export function webUrl(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed : null;
  } catch {
    return null;
  }
}

// The checked site's name: its host without "www." (as the server's site key).
export function siteHost(url) {
  const parsed = webUrl(url);
  return parsed ? canonicalHost(parsed.hostname).replace(/^www\./, "") : null;
}

// The page a warning page stands for: what follows "#" in its address.
export function warnedUrl(warningPageUrl) {
  const hash = new URL(warningPageUrl).hash.slice(1);
  try {
    return decodeURI(hash);
  } catch {
    return hash;
  }
}
