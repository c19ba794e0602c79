/**
 * `/v2/accounts`: account administration, behind the admin session.
 *
 * List and detail never return secrets (masked). Create validates type-specific fields; PATCH merges `other`
 * instead of replacing it, can clear fields with null, re-enabling clears the automatic disable reason, and
 * `clear_cooldown` lifts a cooldown or parking by hand. Also: stats, every account's recent requests and
 * success rates in one read, manual refresh (single-flight with the request path), refresh-all,
 * connectivity test, import and export.
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  accountPatchSchema,
  assertAccountInput,
  customAccountProblems,
  newAccountSchema,
} from "../lib/accounts/account_input.ts";
import { exportAccounts, exportKiroGate, parseAccountImport } from "../lib/accounts/account_transfer.ts";
import { accountView } from "../lib/accounts/account_view.ts";
import { runLimited } from "../lib/accounts/run_limited.ts";
import type { AppEnv, Deps } from "../lib/app_env.ts";
import { ApiError, UpstreamError } from "../lib/errors.ts";
import { readJsonBody } from "../lib/read_json_body.ts";
import type { Account, AccountPatch, ActivityCounts, NewAccount } from "../lib/store/types.ts";

const importSchema = z.object({ data: z.unknown(), dry_run: z.boolean().optional() });

export function createAccountRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const view = (a: Account) => accountView(a, deps.now());
  const load = async (id: string): Promise<Account> => {
    const account = await deps.store.accounts.get(id);
    if (!account) throw new ApiError("not_found_error", `account ${id} not found`);
    return account;
  };
  const refreshOne = async (account: Account) => {
    if (account.type === "custom_api") {
      throw new ApiError("invalid_request_error", "custom_api accounts have no token to refresh");
    }
    await deps.tokens.refresh(account.id, account.accessToken);
  };

  app.get("/v2/accounts", async (c) => {
    const accounts = await deps.store.accounts.list();
    return c.json(accounts.map(view));
  });

  app.post("/v2/accounts", async (c) => {
    const body = await readJsonBody(c, newAccountSchema);
    const proxy = body.proxy ?? undefined;
    const other = { ...body.other, ...(proxy !== undefined ? { proxy } : {}) };
    assertAccountInput(
      { ...body, other },
      body.type === "custom_api" ? customAccountProblems(other, body.clientSecret) : [],
    );
    const input: NewAccount = {
      type: body.type,
      label: body.label ?? null,
      clientId: body.clientId ?? null,
      clientSecret: body.clientSecret ?? null,
      refreshToken: body.refreshToken ?? null,
      accessToken: body.accessToken ?? null,
      other,
    };
    if (body.enabled !== undefined) input.enabled = body.enabled;
    if (body.weight !== undefined) input.weight = body.weight;
    if (body.rate_limit_per_hour !== undefined) input.rate_limit_per_hour = body.rate_limit_per_hour;
    if (body.max_inflight !== undefined) input.max_inflight = body.max_inflight;
    const account = await deps.store.accounts.create(input);
    return c.json(view(account), 201);
  });

  app.get("/v2/accounts/export", async (c) => {
    const format = c.req.query("format") ?? "json";
    const secrets = c.req.query("include_secrets") === "true";
    const accounts = await deps.store.accounts.list();
    // Exports may hold secrets and always describe the whole pool: never kept by a browser or proxy cache.
    c.header("Cache-Control", "no-store");
    if (format === "kirogate") {
      if (!secrets) {
        throw new ApiError(
          "invalid_request_error",
          "the KiroGate format consists of secrets: add include_secrets=true",
        );
      }
      return c.json(exportKiroGate(accounts));
    }
    if (format !== "json") {
      throw new ApiError("invalid_request_error", 'format: must be "json" or "kirogate"');
    }
    return c.json(exportAccounts(accounts, secrets));
  });

  app.post("/v2/accounts/import", async (c) => {
    const body = await readJsonBody(c, importSchema);
    const parsed = parseAccountImport(body.data);
    // Rows that break the limits of POST /v2/accounts are already reported in `errors` and left out.
    const valid = parsed.accounts;
    const created: string[] = [];
    if (!body.dry_run) {
      try {
        for (const account of valid) created.push((await deps.store.accounts.create(account)).id);
      } catch (error) {
        // The valid rows go in together or not at all: a failure half-way takes back what it wrote.
        for (const id of created) await deps.store.accounts.delete(id).catch(() => false);
        throw error;
      }
    }
    return c.json({
      imported: body.dry_run ? 0 : created.length,
      ids: created,
      parsed: parsed.accounts.length,
      errors: parsed.errors,
    });
  });

  app.post("/v2/accounts/refresh-all", async (c) => {
    const accounts = (await deps.store.accounts.list()).filter((a) =>
      a.type !== "custom_api" && a.refreshToken
    );
    const results = await runLimited(accounts, 4, async (account) => {
      try {
        await refreshOne(account);
        return { id: account.id, label: account.label, status: "success" };
      } catch (error) {
        const banned = error instanceof UpstreamError && error.kind === "invalid_grant";
        return {
          id: account.id,
          label: account.label,
          status: banned ? "banned" : "failed",
          message: error instanceof Error ? error.message : String(error),
        };
      }
    });
    const count = (s: string) => results.filter((r) => r.status === s).length;
    return c.json({
      success: true,
      total: results.length,
      success_count: count("success"),
      failed_count: count("failed"),
      banned_count: count("banned"),
      results,
    });
  });

  // Every account's recent requests and success rates in one read, for the console's table. `today_start`
  // (epoch ms) is the start of the viewer's day; without it, UTC midnight.
  app.get("/v2/accounts/activity", async (c) => {
    const now = deps.now();
    const raw = c.req.query("today_start");
    let todayStart = new Date(now).setUTCHours(0, 0, 0, 0);
    if (raw !== undefined) {
      todayStart = Number(raw);
      if (!/^\d{1,16}$/.test(raw) || todayStart > now || todayStart < now - 86_400_000) {
        throw new ApiError(
          "invalid_request_error",
          "today_start: must be a time (epoch ms) within the last 24 hours",
        );
      }
    }
    const rate = (p: ActivityCounts) => {
      const decided = p.successes + p.failures;
      return { ...p, success_rate: decided > 0 ? p.successes / decided : null };
    };
    const rows = await deps.store.usage.accountActivity(now, todayStart);
    return c.json({
      now: new Date(now).toISOString(),
      today_start: new Date(todayStart).toISOString(),
      accounts: rows.map((r) => ({
        ...r,
        hour: rate(r.hour),
        day: rate(r.day),
        last_failure_at: r.last_failure_at === null ? null : new Date(r.last_failure_at).toISOString(),
      })),
    });
  });

  app.get("/v2/accounts/:id", async (c) => c.json(view(await load(c.req.param("id")))));

  app.patch("/v2/accounts/:id", async (c) => {
    const account = await load(c.req.param("id"));
    const body = await readJsonBody(c, accountPatchSchema);
    const proxyPatch = body.proxy !== undefined ? { proxy: body.proxy } : {};
    assertAccountInput({ ...body, other: { ...body.other, ...proxyPatch } });
    const patch: AccountPatch = {};
    for (const key of ["label", "clientId", "clientSecret", "refreshToken", "accessToken"] as const) {
      if (body[key] !== undefined) patch[key] = body[key];
    }
    for (const key of ["weight", "rate_limit_per_hour", "max_inflight"] as const) {
      if (body[key] !== undefined) patch[key] = body[key];
    }
    if (body.enabled !== undefined) {
      patch.enabled = body.enabled;
      if (body.enabled) {
        patch.disabled_reason = null;
        patch.disabled_at = null;
      }
    }
    if (body.clear_cooldown) {
      patch.cooldown_until = null;
      patch.parked_until = null;
    }
    if (account.type === "custom_api" && (body.other !== undefined || body.clientSecret !== undefined)) {
      const merged = { ...account.other, ...body.other };
      for (const [k, v] of Object.entries(body.other ?? {})) if (v === null) delete merged[k];
      const problems = customAccountProblems(
        merged,
        body.clientSecret === undefined ? account.clientSecret : body.clientSecret,
      );
      if (problems.length > 0) throw new ApiError("invalid_request_error", problems.join("; "));
    }
    // Everything was validated above: from here on only the store can fail.
    const otherPatch = {
      ...body.other,
      ...proxyPatch,
      ...(body.clear_cooldown ? { quota_parked: null } : {}),
    };
    if (Object.keys(otherPatch).length > 0) await deps.store.accounts.patchOther(account.id, otherPatch);
    const updated = await deps.store.accounts.update(account.id, patch);
    return c.json(view(updated!));
  });

  app.delete("/v2/accounts/:id", async (c) => {
    const id = c.req.param("id");
    if (!(await deps.store.accounts.delete(id))) {
      throw new ApiError("not_found_error", `account ${id} not found`);
    }
    return c.json({ deleted: id });
  });

  app.get("/v2/accounts/:id/stats", async (c) => {
    const account = await load(c.req.param("id"));
    const now = deps.now();
    const stats = await deps.store.accounts.stats(account.id, now);
    const day = new Date(now);
    day.setUTCHours(0, 0, 0, 0);
    const month = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), 1));
    const usage = async (since: number) => {
      const rows = await deps.store.usage.summary(since, { accountId: account.id });
      const sum = (
        k: "input_tokens" | "output_tokens" | "cache_creation_input_tokens" | "cache_read_input_tokens",
      ) => rows.reduce((n, r) => n + r[k], 0);
      return {
        request_count: rows.reduce((n, r) => n + r.request_count, 0),
        input_tokens: sum("input_tokens"),
        output_tokens: sum("output_tokens"),
        total_tokens: sum("input_tokens") + sum("output_tokens"),
        cache_creation_input_tokens: sum("cache_creation_input_tokens"),
        cache_read_input_tokens: sum("cache_read_input_tokens"),
      };
    };
    const cooldownUntil = Math.max(account.cooldown_until ?? 0, account.parked_until ?? 0);
    return c.json({
      ...stats,
      rate_limit_per_hour: account.rate_limit_per_hour,
      remaining_quota: account.rate_limit_per_hour > 0
        ? Math.max(0, account.rate_limit_per_hour - stats.calls_last_hour)
        : null,
      in_flight: deps.pool.inflight(account.id),
      is_in_cooldown: cooldownUntil > now,
      cooldown_until: cooldownUntil > now ? new Date(cooldownUntil).toISOString() : null,
      cooldown_remaining_seconds: Math.max(0, Math.ceil((cooldownUntil - now) / 1000)),
      quota_parked: account.other.quota_parked ?? null,
      enabled: account.enabled,
      disabled_reason: account.disabled_reason,
      disabled_at: account.disabled_at ? new Date(account.disabled_at).toISOString() : null,
      last_error: account.last_error,
      last_used: account.last_used_at ? new Date(account.last_used_at).toISOString() : null,
      token_usage: { today: await usage(day.getTime()), this_month: await usage(month.getTime()) },
    });
  });

  app.post("/v2/accounts/:id/refresh", async (c) => {
    const account = await load(c.req.param("id"));
    try {
      await refreshOne(account);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new ApiError("api_error", `token refresh failed: ${message}`, { status: 502 });
    }
    return c.json(view(await load(account.id)));
  });

  app.post("/v2/accounts/:id/test", async (c) => {
    const account = await load(c.req.param("id"));
    if (account.type !== "custom_api" || !deps.testAccount) {
      throw new ApiError(
        "invalid_request_error",
        "only custom_api accounts have a connectivity test; use /v1/messages with X-Account-ID",
      );
    }
    const result = await deps.testAccount(account);
    // Like a test message on the other types, the test is a call: "Last used" and the call log show it.
    const status = Number(result.status);
    const failure = status === 401 || status === 403 ? "auth" : status === 429 ? "throttled" : "transient";
    await deps.store.accounts.recordCall(
      account.id,
      result.ok ? "success" : "failure",
      result.ok ? null : failure,
      deps.now(),
    );
    return c.json(result);
  });

  return app;
}
