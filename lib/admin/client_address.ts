/**
 * `ClientAddress`: which address a request came from, and whether it came over TLS, as far as the server can
 * know it, behind zero or more reverse proxies.
 *
 * `X-Forwarded-For` is a list each appending proxy extends on the right; everything left of what our own
 * proxies appended was written by the client and proves nothing. So the address is read from the right:
 * with `TRUST_PROXY=<n>` it is the n-th hop from the right (what the outermost of our n proxies saw), with
 * `TRUSTED_PROXIES` it is the first hop from the right that is not one of the listed proxies. With a list,
 * forwarding headers are honoured only when the socket peer itself is a listed proxy, so a client reaching
 * the port directly cannot speak for someone else. `X-Forwarded-Proto` is read from the same trusted hop.
 */
import { BlockList, isIP } from "node:net";

export interface ResolvedClient {
  /** The address to believe (rate limits, loopback checks). */
  address: string;
  /** True when the address came from forwarding headers a trusted proxy set. */
  forwarded: boolean;
  /** True when the trusted proxy says the client spoke https. */
  tls: boolean;
}

export class ClientAddress {
  #hops: number;
  #proxies: BlockList | null;

  constructor(hops: number, proxies: readonly string[]) {
    this.#hops = hops;
    if (proxies.length === 0) {
      this.#proxies = null;
      return;
    }
    const list = new BlockList();
    for (const entry of proxies) {
      const [address = "", bits] = entry.split("/");
      const family = isIP(address) === 6 ? "ipv6" : "ipv4";
      if (bits === undefined) list.addAddress(address, family);
      else list.addSubnet(address, Number(bits), family);
    }
    this.#proxies = list;
  }

  /** True when forwarding headers are honoured at all. */
  get enabled(): boolean {
    return this.#hops > 0 || this.#proxies !== null;
  }

  /** True when `address` is one of the configured proxies. */
  isTrustedProxy(address: string | undefined): boolean {
    if (!address || !this.#proxies) return false;
    const bare = bareAddress(address);
    const family = isIP(bare);
    if (family === 0) return false;
    return this.#proxies.check(bare, family === 6 ? "ipv6" : "ipv4");
  }

  /** True when forwarding headers from this socket peer are believed. */
  trusts(peer: string | undefined): boolean {
    return this.enabled && (this.#proxies === null || this.isTrustedProxy(peer));
  }

  resolve(peer: string | undefined, header: (name: string) => string | undefined): ResolvedClient {
    const direct = { address: peer ?? "unknown", forwarded: false, tls: false };
    if (!this.trusts(peer)) return direct;
    const hops = (header("x-forwarded-for") ?? "").split(",").map((h) => bareAddress(h.trim())).filter(
      (h) => h !== "",
    );
    const protos = (header("x-forwarded-proto") ?? "").split(",").map((p) => p.trim().toLowerCase()).filter(
      (p) => p !== "",
    );
    if (hops.length === 0) return { ...direct, tls: protos.at(-1) === "https" };
    let index: number;
    if (this.#proxies) {
      // Walk left past our own proxies; the first hop that is not one is the client.
      index = hops.length - 1;
      while (index > 0 && this.isTrustedProxy(hops[index])) index -= 1;
    } else {
      // Fewer hops than proxies means only proxies wrote the list, so its leftmost entry is still theirs.
      index = Math.max(0, hops.length - this.#hops);
    }
    // Proxies that append to X-Forwarded-Proto do it in step with X-Forwarded-For; one that sets a single
    // value sets what the outermost proxy saw.
    const proto = protos.length === hops.length ? protos[index] : protos.at(-1);
    return { address: hops[index]!, forwarded: true, tls: proto === "https" };
  }
}

/** `[::1]:443`, `1.2.3.4:80` and `::ffff:` forms as a plain address. */
function bareAddress(value: string): string {
  let v = value;
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(v);
  if (bracket) v = bracket[1]!;
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(v)) v = v.slice(0, v.lastIndexOf(":"));
  return v;
}
