/**
 * The Gemini donation API: the OAuth start and callback behind the public `/donate` page and the public
 * list of donated accounts.
 *
 * The OAuth `state` is issued by the server and verified (`GeminiOAuthFlow`); a donation of a Google
 * account that is already in the pool updates that account instead of adding a copy (same email or refresh
 * token). Accounts that arrive this way are marked `other.donated` (unless an admin signs in from the console:
 * that adds an ordinary pool account), and the public list shows only those
 * (enabled ones, without the labels an admin gives accounts): an anonymous visitor learns nothing about the
 * accounts an admin added. The list reads only the store: no token refresh and no upstream call per view,
 * no secrets, masked project ids and emails.
 *
 * Errors are JSON `{"type":"error","error":{"type","message"}}` with a 4xx for bad input and 502/503 for
 * upstream or configuration trouble; the redirect-style callback answers with redirects to `/donate`.
 * The pages themselves (`/donate`, `/oauth-callback-page`) are served with every other page by
 * `static_pages.ts`.
 */
import { type Context, type Env, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { assertAccountInput } from "../lib/accounts/account_input.ts";
import { ApiError } from "../lib/errors.ts";
import { readJson } from "../lib/read_json_body.ts";
import type { ModelQuota } from "../lib/gemini/code_assist_client.ts";
import type { GeminiOAuthFlow } from "../lib/gemini/oauth_flow.ts";
import type { Account, AccountPatch, AccountRepo, NewAccount } from "../lib/store/types.ts";

export interface GeminiOAuthRoutesDeps<E extends Env = Env> {
  flow: Pick<GeminiOAuthFlow, "begin" | "complete" | "configured">;
  /** The store's account repository (only these four methods are used). */
  accounts: Pick<AccountRepo, "list" | "create" | "update" | "patchOther">;
  /** `BASE_URL`: public origin for redirect URIs on this server; the request's origin when unset. */
  baseUrl?: string;
  /**
   * Whether the request carries a valid admin session: an admin signing in their own Google account from
   * the console adds a pool account, not a donation (it is not listed on the public page).
   */
  isAdmin?: (c: Context<E>) => Promise<boolean>;
  /** The client's address as the server believes it (caps pending sign-ins per address). */
  clientAddress?: (c: Context<E>) => string;
}

const MAX_FIELD_CHARS = 8192;

function bad(message: string): ApiError {
  return new ApiError("invalid_request_error", message);
}

function maskMiddle(value: string, keepStart: number, keepEnd: number): string {
  if (value.length <= keepStart + keepEnd + 2) return "*".repeat(Math.max(4, value.length));
  return `${value.slice(0, keepStart)}***${value.slice(value.length - keepEnd)}`;
}

function maskEmail(email: string): string {
  const at = email.indexOf("@");
  if (at <= 0) return maskMiddle(email, 1, 0);
  return `${email.slice(0, Math.min(2, at))}***${email.slice(at)}`;
}

/** Reads `code`/`state`/`error` from a body that may hold them directly or in a pasted redirect URL. */
function readCallbackBody(body: unknown): { code?: string; state?: string; error?: string } {
  if (!body || typeof body !== "object" || Array.isArray(body)) throw bad("Body must be a JSON object");
  const fields = body as Record<string, unknown>;
  const text = (key: string): string | undefined => {
    const value = fields[key];
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value !== "string" || value.length > MAX_FIELD_CHARS) throw bad(`"${key}" must be a string`);
    return value.trim();
  };
  let code = text("code");
  let state = text("state");
  let error: string | undefined;
  const pasted = text("url");
  if (pasted !== undefined) {
    let params: URLSearchParams;
    try {
      params = new URL(pasted).searchParams;
    } catch {
      // A bare query string (`code=...&state=...`) is accepted too.
      params = new URLSearchParams(pasted.replace(/^[^?]*\?/, ""));
    }
    code ??= params.get("code") ?? undefined;
    state ??= params.get("state") ?? undefined;
    error = params.get("error") ?? undefined;
  }
  return { code, state, error };
}

interface QuotaView {
  remainingFraction: number;
  remainingPercent: number;
  resetTime: string | null;
  displayName?: string;
  recommended?: boolean;
}

/** The stored quota of an account: `other.quota`, or `other.creditsInfo.models` as older versions stored it. */
function storedQuota(other: Record<string, unknown>): Record<string, QuotaView> {
  const source = (other.quota && typeof other.quota === "object")
    ? other.quota as Record<string, unknown>
    : ((other.creditsInfo as { models?: unknown } | undefined)?.models ?? {}) as Record<string, unknown>;
  const out: Record<string, QuotaView> = {};
  for (const [model, raw] of Object.entries(source)) {
    const q = raw as Partial<ModelQuota> | null;
    if (!q || typeof q.remainingFraction !== "number") continue;
    const view: QuotaView = {
      remainingFraction: q.remainingFraction,
      remainingPercent: Math.floor(q.remainingFraction * 100),
      resetTime: typeof q.resetTime === "string" ? q.resetTime : null,
    };
    if (typeof q.displayName === "string") view.displayName = q.displayName;
    if (typeof q.recommended === "boolean") view.recommended = q.recommended;
    out[model] = view;
  }
  return out;
}

function accountsView(accounts: Account[]) {
  const modelTotals: Record<
    string,
    {
      displayName: string;
      accountCount: number;
      totalRemaining: number;
      averagePercent: number;
      earliestReset: string | null;
    }
  > = {};
  const items = accounts.map((account) => {
    const active = account.enabled && account.disabled_reason === null;
    const quota = storedQuota(account.other);
    if (active) {
      for (const [model, q] of Object.entries(quota)) {
        if (q.recommended === false) continue;
        const total = modelTotals[model] ??= {
          displayName: q.displayName ?? model,
          accountCount: 0,
          totalRemaining: 0,
          averagePercent: 0,
          earliestReset: null,
        };
        total.accountCount += 1;
        total.totalRemaining += q.remainingFraction;
        total.averagePercent = Math.floor((total.totalRemaining / total.accountCount) * 100);
        if (q.resetTime && (total.earliestReset === null || q.resetTime < total.earliestReset)) {
          total.earliestReset = q.resetTime;
        }
      }
    }
    const project = typeof account.other.project === "string" ? account.other.project : "";
    const email = typeof account.other.email === "string" ? account.other.email : "";
    return {
      id: account.id.slice(0, 8),
      enabled: active,
      email: email ? maskEmail(email) : null,
      projectId: project ? maskMiddle(project, 4, 3) : null,
      quota,
      quotaUpdatedAt: typeof account.other.quota_updated_at === "string"
        ? account.other.quota_updated_at
        : null,
      created_at: account.created_at,
    };
  });
  const activeCount = items.filter((i) => i.enabled).length;
  return { activeCount, totalCount: items.length, modelTotals, accounts: items };
}

/** Builds the donation sub-app (mount it at `/`); `E` lets it join an app with its own `Env`. */
export function createGeminiOAuthRoutes<E extends Env = Env>(deps: GeminiOAuthRoutesDeps<E>): Hono<E> {
  const app = new Hono<E>();

  const origin = (requestUrl: string) => (deps.baseUrl ?? new URL(requestUrl).origin).replace(/\/+$/, "");

  /** Stores a donation: updates the pool's copy of the same Google account, or inserts a new one. */
  const save = async (signedIn: NewAccount, byAdmin = false): Promise<{ id: string; updated: boolean }> => {
    const donated: NewAccount = byAdmin
      ? signedIn
      : { ...signedIn, other: { ...signedIn.other, donated: true } };
    // What Google returned is held to the limits of every other account write.
    assertAccountInput(donated);
    const email = typeof donated.other?.email === "string" ? donated.other.email : undefined;
    const existing = (await deps.accounts.list({ type: "gemini" })).find((a) =>
      (email !== undefined && a.other.email === email) ||
      (a.refreshToken !== null && a.refreshToken === donated.refreshToken)
    );
    if (!existing) return { id: (await deps.accounts.create(donated)).id, updated: false };
    const patch: AccountPatch = {
      clientId: donated.clientId ?? null,
      clientSecret: donated.clientSecret ?? null,
      refreshToken: donated.refreshToken ?? null,
      accessToken: donated.accessToken ?? null,
      tokenExpiresAt: donated.tokenExpiresAt ?? null,
    };
    // An account the pool disabled (revoked token, suspension) works again with the new grant; one an
    // admin switched off (no reason recorded) stays off.
    if (existing.disabled_reason !== null) {
      Object.assign(patch, { enabled: true, disabled_reason: null, disabled_at: null, last_error: null });
    }
    await deps.accounts.update(existing.id, patch);
    await deps.accounts.patchOther(existing.id, donated.other ?? {});
    return { id: existing.id, updated: true };
  };

  app.onError((error, c) => {
    const api = error instanceof ApiError
      ? error
      : new ApiError("api_error", "internal server error", { cause: error });
    return c.json(api.toBody(), api.status as ContentfulStatusCode);
  });

  app.get("/api/gemini/oauth-config", async (c) => {
    if (!deps.flow.configured) {
      return c.json({
        type: "error",
        error: { type: "api_error", message: "Gemini OAuth is not configured on this server" },
        clientId: null,
      }, 503);
    }
    const mode = c.req.query("mode") ?? "paste";
    let redirectUri: string | undefined;
    if (mode === "popup") redirectUri = `${origin(c.req.url)}/oauth-callback-page`;
    else if (mode === "server") redirectUri = `${origin(c.req.url)}/api/gemini/oauth-callback`;
    else if (mode !== "paste") throw bad('"mode" must be paste, popup or server');
    const start = await deps.flow.begin(redirectUri, deps.clientAddress?.(c));
    return c.json(start, 200, { "cache-control": "no-store" });
  });

  app.post("/api/gemini/oauth-callback", async (c) => {
    const body = await readJson(c, 'Body must be JSON: {"url"} or {"code", "state"}');
    const { code, state, error } = readCallbackBody(body);
    if (error) throw bad(`Google did not authorize the account (${error.slice(0, 100)})`);
    if (!code) throw bad("Missing authorization code: paste the whole address Google redirected to");
    if (!state) throw bad("Missing OAuth state: paste the whole address Google redirected to");
    const account = await deps.flow.complete({ code, state }, c.req.raw.signal);
    const saved = await save(account, (await deps.isAdmin?.(c)) ?? false);
    return c.json({
      success: true,
      updated: saved.updated,
      message: saved.updated
        ? "This Google account was already donated; its access was renewed. Thank you!"
        : "Account added. Thank you!",
    });
  });

  app.get("/api/gemini/oauth-callback", async (c) => {
    const fail = (message: string) => c.redirect(`/donate?error=${encodeURIComponent(message)}`, 302);
    const error = c.req.query("error");
    const code = c.req.query("code");
    const state = c.req.query("state");
    if (error) return fail(`Google did not authorize the account (${error.slice(0, 100)})`);
    if (!code || !state) return fail("Missing authorization code or state");
    try {
      const account = await deps.flow.complete(
        { code, state, redirectUri: `${origin(c.req.url)}/api/gemini/oauth-callback` },
        c.req.raw.signal,
      );
      await save(account);
    } catch (err) {
      return fail(err instanceof ApiError ? err.message : "Adding the account failed");
    }
    return c.redirect("/donate?success=true", 302);
  });

  app.get("/api/gemini/accounts", async (c) => {
    const accounts = (await deps.accounts.list({ type: "gemini" }))
      .filter((a) => a.other.donated === true && a.enabled);
    return c.json(accountsView(accounts), 200, { "cache-control": "no-store" });
  });

  return app;
}
