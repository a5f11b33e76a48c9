// How each verdict looks: badge text and colour, and the words the popup and the warning page use.

export const VERDICTS = {
  rogue: { badge: "BAD", color: "#b3261e", label: "Rogue pharmacy", short: "rogue" },
  suspicious: { badge: "WARN", color: "#b35c00", label: "Suspicious", short: "suspicious" },
  legitimate: { badge: "OK", color: "#1e7a3c", label: "Legitimate pharmacy", short: "legitimate" },
  not_a_pharmacy: { badge: "INFO", color: "#3c5a80", label: "Not a pharmacy", short: "not a pharmacy" },
  unreachable: { badge: "DOWN", color: "#5f6368", label: "Site unreachable", short: "unreachable" },
  unknown: { badge: "?", color: "#5f6368", label: "Unknown", short: "unknown" },
};

export function look(verdict) {
  return VERDICTS[verdict] || VERDICTS.unknown;
}

export function describeAge(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) return "unknown age";
  if (seconds < 90) return "just now";
  if (seconds < 5400) return `${Math.round(seconds / 60)} minutes ago`;
  if (seconds < 129600) return `${Math.round(seconds / 3600)} hours ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

export const SITE_TYPES = { pharmacy: "Pharmacy", information: "Information site", unknown: "Unknown" };
