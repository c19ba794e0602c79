/**
 * The fixed UTC windows key limits count in: the current minute (requests per minute), day and month
 * (tokens and cost). Fixed windows need one counter row each and reset at a time a client can be told
 * exactly (`retry-after`, the `*-reset` headers); the price is that a client may spend a minute's requests
 * at the end of one minute and again at the start of the next.
 */
import type { KeyWindowKind } from "../store/types.ts";

export interface KeyWindow {
  kind: KeyWindowKind;
  /** Epoch ms the window started. */
  start: number;
  /** Epoch ms the next window starts (when this one's counts reset). */
  end: number;
}

export function keyWindows(now: number): Record<KeyWindowKind, KeyWindow> {
  const d = new Date(now);
  const minute = Math.floor(now / 60_000) * 60_000;
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  const month = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  return {
    minute: { kind: "minute", start: minute, end: minute + 60_000 },
    day: { kind: "day", start: day, end: day + 86_400_000 },
    month: { kind: "month", start: month, end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) },
  };
}
