/**
 * Amazon Q onboarding for admins: the device-code login (`/v2/auth/start`, `/v2/auth/status/{id}`,
 * `/v2/auth/claim/{id}`) and import of the token cache files the Amazon Q / Kiro tools
 * leave on disk (`/v2/accounts/import-token-cache`, given the file content). `claim` waits at most
 * `claimWaitMs` and answers the pending state instead of holding the request for minutes.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { DeviceLoginSessions } from "../lib/amazonq/device_login_sessions.ts";
import { importTokenCache } from "../lib/amazonq/token_cache_import.ts";
import { accountView } from "../lib/accounts/account_view.ts";
import type { AppEnv, Deps } from "../lib/app_env.ts";
import { ApiError } from "../lib/errors.ts";
import { readJsonBody } from "../lib/read_json_body.ts";
import { assertAccountInput } from "../lib/accounts/account_input.ts";

const startSchema = z.object({ label: z.string().max(200).nullish(), enabled: z.boolean().optional() });
const cacheSchema = z.object({
  content: z.string().min(2).max(1_000_000),
  label: z.string().max(200).nullish(),
  client_registration: z.string().max(1_000_000).nullish(),
});

export function createAmazonQOnboardingRoutes(
  deps: Deps,
  sessions: DeviceLoginSessions,
  options: { claimWaitMs?: number; sleep?: (ms: number) => Promise<void> } = {},
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));

  app.post("/v2/auth/start", async (c) => {
    const body = await readJsonBody(c, startSchema);
    // Refused before the device code is spent: the account this login creates meets the usual limits.
    assertAccountInput({ label: body.label ?? null });
    let started;
    try {
      started = await sessions.start(body.label ?? null, body.enabled ?? true);
    } catch (error) {
      throw new ApiError("api_error", error instanceof Error ? error.message : "device login failed", {
        status: 502,
      });
    }
    const s = started.session;
    return c.json({
      authId: started.authId,
      verificationUriComplete: s.verificationUriComplete,
      userCode: s.userCode,
      expiresIn: Math.max(0, Math.round((s.expiresAt - deps.now()) / 1000)),
      interval: s.interval,
    });
  });

  app.get("/v2/auth/status/:id", async (c) => {
    const state = await sessions.status(c.req.param("id"));
    if (!state) throw new ApiError("not_found_error", "login session not found");
    return c.json(state);
  });

  app.post("/v2/auth/claim/:id", async (c) => {
    const state = await sessions.claim(c.req.param("id"), options.claimWaitMs ?? 25_000, sleep);
    if (!state) throw new ApiError("not_found_error", "login session not found");
    if (state.status === "completed") {
      const account = await deps.store.accounts.get(state.accountId);
      return c.json({ status: "completed", account: account ? accountView(account, deps.now()) : null });
    }
    if (state.status === "timeout") {
      throw new ApiError("invalid_request_error", "the login expired; start again", { status: 408 });
    }
    if (state.status === "error") {
      throw new ApiError("api_error", `OIDC error: ${state.error}`, { status: 502 });
    }
    return c.json(state, 202);
  });

  app.post("/v2/accounts/import-token-cache", async (c) => {
    const body = await readJsonBody(c, cacheSchema);
    const options: { label?: string; clientRegistration?: string } = {};
    if (body.label) options.label = body.label;
    if (body.client_registration) options.clientRegistration = body.client_registration;
    const input = importTokenCache(body.content, options);
    assertAccountInput(input);
    const account = await deps.store.accounts.create(input);
    return c.json(accountView(account, deps.now()), 201);
  });

  return app;
}
