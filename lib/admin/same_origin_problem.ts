/**
 * `sameOriginProblem`: why a request that a browser could have been tricked into sending must be refused,
 * or null when it may pass.
 *
 * A session cookie and the key-less loopback mode both authenticate by ambient context, so any web page the
 * admin or a local user visits could otherwise drive the server: a cross-site "simple" request (a form, or
 * `fetch` with a `text/plain` body) needs no CORS preflight, and DNS rebinding makes a hostile name resolve to
 * 127.0.0.1. Browsers always label their requests (`Sec-Fetch-Site`, `Origin`), so: a request labelled
 * cross-site or same-site, or whose `Origin` is not this server, is refused; requests without those headers
 * (curl, SDKs) pass. A body must be declared JSON, which a simple cross-site request cannot do. In key-less
 * mode the `Host` must be a loopback name or `BASE_URL`'s host, which a rebound name is not.
 *
 * Pure: it reads headers and the URL, and asks the caller whether a body not declared JSON is empty.
 */

export interface SameOriginInput {
  /** The request URL as the server sees it (its host is the `Host` header). */
  url: string;
  header: (name: string) => string | undefined;
  /** The host the trusted proxy was asked for (`X-Forwarded-Host`), when a trusted proxy says so. */
  forwardedHost?: string | undefined;
  /** `BASE_URL`, when configured: its origin and host are this server's too. */
  baseUrl: string | undefined;
  /** Resolves true when the request carries a non-empty body (only asked for a body not declared JSON). */
  hasBody: () => Promise<boolean>;
  /** Also require a loopback `Host` (key-less loopback mode). */
  checkHost: boolean;
}

export interface SameOriginRefusal {
  status: 403 | 415;
  message: string;
}

export async function sameOriginProblem(input: SameOriginInput): Promise<SameOriginRefusal | null> {
  const url = new URL(input.url);
  const base = input.baseUrl ? new URL(input.baseUrl) : undefined;
  if (input.checkHost && !isLoopbackName(url.hostname) && url.hostname !== base?.hostname) {
    return {
      status: 403,
      message: `Host "${
        url.host.slice(0, 100)
      }" is not a loopback name: without a client key only http://localhost or 127.0.0.1 is served (set BASE_URL for another name)`,
    };
  }
  const site = input.header("sec-fetch-site")?.toLowerCase();
  if (site === "cross-site" || site === "same-site") {
    return { status: 403, message: `cross-origin request refused (Sec-Fetch-Site: ${site})` };
  }
  const origin = input.header("origin");
  if (origin !== undefined && !isOwnOrigin(origin, url, base, input.forwardedHost)) {
    return { status: 403, message: `cross-origin request refused (Origin: ${origin.slice(0, 100)})` };
  }
  if (!isJson(input.header("content-type")) && await input.hasBody()) {
    return { status: 415, message: "request body must be sent as Content-Type: application/json" };
  }
  return null;
}

function isOwnOrigin(
  origin: string,
  url: URL,
  base: URL | undefined,
  forwardedHost: string | undefined,
): boolean {
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false; // includes the opaque origin "null"
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return false;
  // Behind a TLS-terminating proxy the URL says http while the page was https: the host is what matters.
  return parsed.host === url.host || parsed.host === forwardedHost?.toLowerCase() ||
    (base !== undefined && parsed.origin === base.origin);
}

function isJson(contentType: string | undefined): boolean {
  const type = contentType?.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** `localhost`, `*.localhost`, 127.0.0.0/8 and `[::1]`. */
function isLoopbackName(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || /^127\.\d+\.\d+\.\d+$/.test(h) || h === "[::1]";
}
