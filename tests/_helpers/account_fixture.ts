/**
 * An `Account` record for unit tests of channels, stages and routing that do not go through the store:
 * every field set (an enabled Amazon Q account with no limits), overridden per test.
 */
import type { Account } from "../../lib/store/types.ts";

export function accountFixture(overrides: Partial<Account> = {}): Account {
  return {
    id: "acc-1",
    label: "test",
    type: "amazonq",
    clientId: "cid",
    clientSecret: "csecret",
    refreshToken: "rt",
    accessToken: "at-1",
    tokenExpiresAt: null,
    other: {},
    enabled: true,
    weight: 50,
    rate_limit_per_hour: 20,
    max_inflight: 0,
    disabled_reason: null,
    disabled_at: null,
    cooldown_until: null,
    parked_until: null,
    last_error: null,
    last_used_at: null,
    last_refresh_time: null,
    last_refresh_status: "never",
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    ...overrides,
  };
}
