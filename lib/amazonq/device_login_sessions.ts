/**
 * Device-code login sessions between `/v2/auth/start` and `/v2/auth/claim/{id}`.
 *
 * Each session polls the OIDC token endpoint at most once per its interval (honouring `slow_down`), only
 * when an admin asks for its status or claims it, so no request is held for minutes and nothing polls in the background for abandoned logins. Sessions live in
 * this instance's memory and are dropped after they expire; a completed session creates its account once.
 */
import type { NewAccount } from "../store/types.ts";
import { DeviceLogin, type DeviceLoginSession } from "./device_login.ts";

export type LoginState =
  | { status: "pending"; remaining: number }
  | { status: "completed"; accountId: string }
  | { status: "timeout" }
  | { status: "error"; error: string };

interface Entry {
  session: DeviceLoginSession;
  label: string | null;
  enabled: boolean;
  nextPollAt: number;
  state: LoginState;
  polling: Promise<LoginState> | null;
}

export class DeviceLoginSessions {
  #login: DeviceLogin;
  #now: () => number;
  #create: (account: NewAccount) => Promise<string>;
  #entries = new Map<string, Entry>();

  constructor(login: DeviceLogin, now: () => number, create: (account: NewAccount) => Promise<string>) {
    this.#login = login;
    this.#now = now;
    this.#create = create;
  }

  async start(
    label: string | null,
    enabled: boolean,
  ): Promise<{ authId: string; session: DeviceLoginSession }> {
    this.#sweep();
    const session = await this.#login.start();
    const authId = crypto.randomUUID();
    this.#entries.set(authId, {
      session,
      label,
      enabled,
      nextPollAt: this.#now() + session.interval * 1000,
      state: {
        status: "pending",
        remaining: Math.max(0, Math.round((session.expiresAt - this.#now()) / 1000)),
      },
      polling: null,
    });
    return { authId, session };
  }

  /** Current state, polling the token endpoint once if a poll is due. Null for an unknown id. */
  status(authId: string): Promise<LoginState> | null {
    const entry = this.#entries.get(authId);
    if (!entry) return null;
    if (entry.state.status !== "pending") return Promise.resolve(entry.state);
    const now = this.#now();
    if (now >= entry.session.expiresAt) {
      entry.state = { status: "timeout" };
      return Promise.resolve(entry.state);
    }
    if (now < entry.nextPollAt) {
      return Promise.resolve({
        status: "pending",
        remaining: Math.round((entry.session.expiresAt - now) / 1000),
      });
    }
    entry.polling ??= this.#poll(entry).finally(() => entry.polling = null);
    return entry.polling;
  }

  /** Waits for completion for at most `waitMs`, polling at the session's interval. */
  async claim(
    authId: string,
    waitMs: number,
    sleep: (ms: number) => Promise<void>,
  ): Promise<LoginState | null> {
    const until = this.#now() + waitMs;
    for (;;) {
      const state = await this.status(authId);
      if (state === null || state.status !== "pending") return state;
      const entry = this.#entries.get(authId)!;
      const wait = entry.nextPollAt - this.#now();
      if (this.#now() + Math.max(wait, 0) > until) return state;
      await sleep(Math.max(wait, 50));
    }
  }

  async #poll(entry: Entry): Promise<LoginState> {
    const result = await this.#login.poll(entry.session);
    const now = this.#now();
    switch (result.status) {
      case "pending":
        entry.nextPollAt = now + entry.session.interval * 1000;
        return { status: "pending", remaining: Math.round((entry.session.expiresAt - now) / 1000) };
      case "slow_down":
        entry.session = { ...entry.session, interval: result.interval };
        entry.nextPollAt = now + result.interval * 1000;
        return { status: "pending", remaining: Math.round((entry.session.expiresAt - now) / 1000) };
      case "expired":
        entry.state = { status: "timeout" };
        return entry.state;
      case "error":
        if (result.retryable) {
          entry.nextPollAt = now + entry.session.interval * 1000;
          return { status: "pending", remaining: Math.round((entry.session.expiresAt - now) / 1000) };
        }
        entry.state = { status: "error", error: result.message };
        return entry.state;
      case "completed": {
        const account = DeviceLogin.account(entry.session, result.tokens, entry.label ?? undefined);
        account.enabled = entry.enabled;
        entry.state = { status: "completed", accountId: await this.#create(account) };
        return entry.state;
      }
    }
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, entry] of this.#entries) {
      if (entry.session.expiresAt + 3_600_000 < now) this.#entries.delete(id);
    }
  }
}
