/**
 * `proxySetting`: reads an upstream proxy URL (`http://`, `https://`, `socks5://` or `socks5h://`, with
 * optional `user:password@`) into the parts `Deno.createHttpClient` wants, or names what is wrong with it.
 *
 * Credentials are split off into `basicAuth` so the URL used as a cache key and shown to operators never
 * carries them. `direct` is a setting of its own: an account that must not use the global default proxy.
 */

export type ProxySetting =
  | { kind: "direct" }
  | {
    kind: "proxy";
    /** Scheme, host and port only: safe to show and to key a client cache. */
    url: string;
    transport: "http" | "https" | "socks5";
    basicAuth?: { username: string; password: string };
    /** The whole setting (credentials included), to tell two proxies on one host apart. */
    key: string;
  };

const SCHEMES: Record<string, "http" | "https" | "socks5"> = {
  "http:": "http",
  "https:": "https",
  "socks5:": "socks5",
  "socks5h:": "socks5",
};

/** The parsed setting, or a one-line problem (never echoing the credentials). */
export function proxySetting(raw: unknown): ProxySetting | { problem: string } {
  if (typeof raw !== "string" || raw.trim() === "") return { problem: 'must be a proxy URL or "direct"' };
  const value = raw.trim();
  if (value.toLowerCase() === "direct") return { kind: "direct" };
  if (value.length > 2048) return { problem: "must be at most 2048 characters long" };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { problem: 'must be an http://, https:// or socks5:// URL, or "direct"' };
  }
  const transport = SCHEMES[url.protocol];
  if (!transport) return { problem: `scheme ${url.protocol} is not supported (http, https, socks5)` };
  if (!url.hostname) return { problem: "must name a host" };
  if ((url.pathname !== "" && url.pathname !== "/") || url.search || url.hash) {
    return { problem: "must be scheme://[user:password@]host:port without a path or query" };
  }
  const shown = `${url.protocol}//${url.host}`;
  const setting: ProxySetting = { kind: "proxy", url: shown, transport, key: value };
  if (url.username || url.password) {
    try {
      setting.basicAuth = {
        username: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
      };
    } catch {
      return { problem: "has credentials that are not valid percent-encoding" };
    }
  }
  return setting;
}
