// Calls to the rxcheck API. Every call resolves, never rejects: {ok: true, body, status} or
// {ok: false, reason, status, code} with a one-sentence reason a person can read in the popup (status and the
// API's error code when it answered).

export const TIMEOUTS_MS = { list: 15000, hashes: 8000, verdict: 60000 };

export class ApiClient {
  constructor({ apiBase, apiKey }) {
    this.base = (apiBase || "").replace(/\/+$/, "");
    this.key = apiKey || "";
  }

  async get(path, params, timeoutMs) {
    let url;
    try {
      url = new URL(this.base + path);
    } catch {
      return { ok: false, reason: `the API address "${this.base}" is not a valid URL (see the options page)` };
    }
    for (const [name, value] of Object.entries(params || {})) {
      if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    const headers = { Accept: "application/json" };
    if (this.key) headers.Authorization = `Bearer ${this.key}`;
    let response;
    try {
      response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs), credentials: "omit" });
    } catch (error) {
      if (error && error.name === "TimeoutError") {
        return { ok: false, reason: `the rxcheck API at ${this.base} did not answer within ${timeoutMs / 1000} s` };
      }
      return { ok: false, reason: `the rxcheck API at ${this.base} cannot be reached` };
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) {
      const message = body && body.error && body.error.message ? `: ${body.error.message}` : "";
      const code = body && body.error ? body.error.code : undefined;
      return { ok: false, status: response.status, code, reason: `the rxcheck API answered ${response.status}${message}` };
    }
    if (body === null || typeof body !== "object") {
      return { ok: false, status: response.status, reason: "the rxcheck API sent an answer that is not JSON" };
    }
    return { ok: true, status: response.status, body };
  }

  list(name, since) {
    return this.get(`/v1/lists/${name}`, { since }, TIMEOUTS_MS.list);
  }

  rogueHosts(since) {
    return this.get("/v1/lists/rogue/hosts", { since }, TIMEOUTS_MS.list);
  }

  hashes(prefix) {
    return this.get("/v1/hashes", { prefix }, TIMEOUTS_MS.hashes);
  }

  // A full check sends the origin only (scheme and host), never the path or the query.
  verdict(origin, fresh) {
    return this.get("/v1/verdict", { url: origin, fresh: fresh ? "true" : undefined }, TIMEOUTS_MS.verdict);
  }
}
