/**
 * `UpstreamClients`: one pooled `Deno.HttpClient` per distinct upstream proxy, picked for an account.
 *
 * An account's `other.proxy` (a proxy URL, or `direct`) wins over the global default (`UPSTREAM_PROXY`); with
 * neither the call uses the runtime's shared client (`undefined`). Clients are created on first use and kept
 * for the life of the process, so connections through a proxy are pooled and reused like direct ones; a
 * client per request would open a new proxy tunnel each time. The proxy settings are few (operators set
 * them by hand), so the cache has no eviction; `close()` releases them at shutdown.
 *
 * A stored setting that no longer parses (edited by hand in the database) fails the call rather than
 * silently going direct: an account behind a proxy must never leak its traffic from the server's address.
 */
import { UpstreamError } from "../errors.ts";
import { proxySetting } from "./proxy_setting.ts";

export interface UpstreamClientsOptions {
  /** The global default proxy URL (`UPSTREAM_PROXY`), or undefined for direct. */
  defaultProxy?: string | undefined;
  /** Builds a client (tests count them); `Deno.createHttpClient` by default. */
  create?: (options: Deno.CreateHttpClientOptions) => Deno.HttpClient;
}

/** The account fields a proxy choice depends on. */
export interface ProxiedAccount {
  readonly other: Record<string, unknown>;
}

export class UpstreamClients {
  readonly #defaultProxy: string | undefined;
  readonly #create: (options: Deno.CreateHttpClientOptions) => Deno.HttpClient;
  readonly #clients = new Map<string, Deno.HttpClient>();

  constructor(options: UpstreamClientsOptions = {}) {
    this.#defaultProxy = options.defaultProxy;
    this.#create = options.create ?? ((o) => Deno.createHttpClient(o));
  }

  /** The proxy setting in force for the account: its own, else the default, else none. */
  static proxyOf(account: ProxiedAccount, defaultProxy: string | undefined): string | undefined {
    const own = account.other.proxy;
    if (typeof own === "string" && own.trim() !== "") return own;
    return defaultProxy;
  }

  /** The client for the account's upstream calls and token refreshes (undefined: the shared direct one). */
  forAccount(account: ProxiedAccount | null | undefined): Deno.HttpClient | undefined {
    const raw = account ? UpstreamClients.proxyOf(account, this.#defaultProxy) : this.#defaultProxy;
    return raw === undefined ? undefined : this.forProxy(raw);
  }

  /** The pooled client for one proxy setting (undefined for `direct`). */
  forProxy(raw: string): Deno.HttpClient | undefined {
    const setting = proxySetting(raw);
    if ("problem" in setting) {
      throw new UpstreamError("transient", `the account's upstream proxy setting ${setting.problem}`, {
        provider: "proxy",
      });
    }
    if (setting.kind === "direct") return undefined;
    let client = this.#clients.get(setting.key);
    if (!client) {
      client = this.#create({
        proxy: {
          transport: setting.transport,
          url: setting.url,
          ...(setting.basicAuth ? { basicAuth: setting.basicAuth } : {}),
        },
      });
      this.#clients.set(setting.key, client);
    }
    return client;
  }

  /** How many distinct proxy clients exist (one per proxy, however many accounts and calls). */
  get size(): number {
    return this.#clients.size;
  }

  close(): void {
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }
}
