// Number, time and duration formatting shared by the console's views.

export const fmtInt = (n) => (typeof n === "number" && Number.isFinite(n) ? n.toLocaleString("en-US") : "–");

export function fmtTime(value) {
  if (value === null || value === undefined || value === "") return "–";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

/** "5 s", "3 min 10 s", "2 h 5 min", "3 d 4 h". */
export function fmtDuration(ms) {
  if (!Number.isFinite(ms)) return "–";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** "3 min ago" for a past time, "–" when unknown. */
export function fmtAgo(value, now = Date.now()) {
  if (value === null || value === undefined || value === "") return "–";
  const t = new Date(value).getTime();
  if (Number.isNaN(t)) return String(value);
  return now - t < 1000 ? "just now" : `${fmtDuration(now - t)} ago`;
}

export const fmtUsd = (n) =>
  typeof n === "number" && Number.isFinite(n) ? `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}` : "–";

export const fmtPercent = (part, whole) => (whole > 0 ? `${(100 * part / whole).toFixed(1)} %` : "–");
