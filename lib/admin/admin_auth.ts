/**
 * Admin accounts, logins and sessions.
 *
 * Setup is atomic (two concurrent
 * setups cannot both create an admin), passwords are scrypt-hashed, session tokens are stored as SHA-256
 * digests with an absolute expiry, and failed logins are rate-limited and locked out per client address
 * and username, with the counters persisted in the store (they survive restarts and are shared between
 * instances). Keyed by the pair, someone sharing the admin's address (a NAT, a proxy) who guesses at other
 * names, or at the admin's name from elsewhere, cannot lock the admin out. Guessing spread over many
 * addresses meets a global slow-down instead: past a number of failures per window, across all addresses,
 * each further attempt must wait an exponentially growing delay (capped), which slows an attack to a crawl
 * but only delays the real admin.
 */
import { randomBytes } from "node:crypto";
import { ApiError } from "../errors.ts";
import type { LoginAttempts, Store } from "../store/types.ts";
import type { PasswordHasher } from "./password_hasher.ts";
import { secretDigest } from "./secret_digest.ts";

export interface AdminAuthOptions {
  sessionTtlMs?: number;
  /** Attempts allowed per client address in one window. */
  maxAttemptsPerWindow?: number;
  windowMs?: number;
  /** Consecutive failures that lock the address. */
  lockoutThreshold?: number;
  lockoutMs?: number;
  /** Failed logins per window, across all addresses, before the global slow-down starts. */
  globalFreeFailures?: number;
  /** Longest wait the global slow-down imposes between attempts. */
  globalMaxDelayMs?: number;
}

/** The `login_attempts` row of the global slow-down (a key no address|username pair can take). */
const GLOBAL_KEY = "*";

export interface LoginStatus {
  needSetup: boolean;
  locked: boolean;
  lockRemaining: number;
}

export class AdminAuth {
  #store: Store;
  #hasher: PasswordHasher;
  #now: () => number;
  #ttl: number;
  #maxAttempts: number;
  #window: number;
  #threshold: number;
  #lockout: number;
  #globalFree: number;
  #globalMaxDelay: number;

  constructor(store: Store, hasher: PasswordHasher, now: () => number, options: AdminAuthOptions = {}) {
    this.#store = store;
    this.#hasher = hasher;
    this.#now = now;
    this.#ttl = options.sessionTtlMs ?? 24 * 3_600_000;
    this.#maxAttempts = options.maxAttemptsPerWindow ?? 10;
    this.#window = options.windowMs ?? 60_000;
    this.#threshold = options.lockoutThreshold ?? 5;
    this.#lockout = options.lockoutMs ?? 15 * 60_000;
    this.#globalFree = options.globalFreeFailures ?? 20;
    this.#globalMaxDelay = options.globalMaxDelayMs ?? 60_000;
  }

  get sessionTtlMs(): number {
    return this.#ttl;
  }

  /** Whether setup is needed, and whether logins are slowed down server-wide right now. */
  async status(): Promise<LoginStatus> {
    const needSetup = (await this.#store.admins.count()) === 0;
    const attempts = await this.#store.loginAttempts.get(GLOBAL_KEY);
    const remaining = attempts?.locked_until ? Math.max(0, attempts.locked_until - this.#now()) : 0;
    return { needSetup, locked: remaining > 0, lockRemaining: Math.ceil(remaining / 1000) };
  }

  /** Creates the first admin; throws 409 once one exists. */
  async setup(username: string, password: string): Promise<void> {
    validateCredentials(username, password);
    const hash = await this.#hasher.hash(password);
    const created = await this.#store.admins.createFirst({
      id: crypto.randomUUID(),
      username,
      password_hash: hash,
    });
    if (!created) {
      throw new ApiError("invalid_request_error", "an admin account already exists", { status: 409 });
    }
  }

  /** Checks credentials under the per-address-and-username limits; returns a new session token. */
  async login(
    username: string,
    password: string,
    clientAddress: string,
  ): Promise<{ token: string; expiresAt: number }> {
    const now = this.#now();
    // The username as a digest: any name fits the key column, and the table holds no guessed names.
    const clientKey = `${clientAddress.slice(0, 100)}|${secretDigest(username.toLowerCase()).slice(0, 32)}`;
    const global = await this.#store.loginAttempts.get(GLOBAL_KEY);
    if (global?.locked_until && global.locked_until > now) {
      const seconds = Math.ceil((global.locked_until - now) / 1000);
      throw new ApiError(
        "rate_limit_error",
        `too many failed logins on this server; try again in ${seconds} s`,
        { retryAfterSeconds: seconds },
      );
    }
    const previous = await this.#store.loginAttempts.get(clientKey);
    if (previous?.locked_until && previous.locked_until > now) {
      const seconds = Math.ceil((previous.locked_until - now) / 1000);
      throw new ApiError("rate_limit_error", `too many failed logins; locked for ${seconds} s`, {
        retryAfterSeconds: seconds,
      });
    }
    const attempts = previous && !(previous.locked_until && previous.locked_until <= now)
      ? { ...previous }
      : { key: clientKey, failures: 0, window_start: now, window_count: 0, locked_until: null };
    if (now - attempts.window_start >= this.#window) {
      // Failures decay: a quiet period as long as a lockout forgets them.
      if (now - attempts.window_start >= this.#lockout) attempts.failures = 0;
      attempts.window_start = now;
      attempts.window_count = 0;
    }
    attempts.window_count += 1;
    if (attempts.window_count > this.#maxAttempts) {
      await this.#store.loginAttempts.put(attempts);
      const seconds = Math.ceil((attempts.window_start + this.#window - now) / 1000);
      throw new ApiError("rate_limit_error", "too many login attempts; try again later", {
        retryAfterSeconds: Math.max(1, seconds),
      });
    }
    const user = await this.#store.admins.findByUsername(username);
    const ok = user
      ? await this.#hasher.verify(password, user.password_hash)
      : (await this.#hasher.burn(password), false);
    if (!ok || !user) {
      attempts.failures += 1;
      if (attempts.failures >= this.#threshold) {
        attempts.locked_until = now + this.#lockout;
        attempts.failures = 0;
      }
      await this.#store.loginAttempts.put(attempts);
      await this.#slowDown(global, now);
      throw new ApiError("authentication_error", "invalid username or password");
    }
    // A success forgets failures and any lock but stays counted in the rate window: clearing the whole
    // record here made the per-window limit unreachable (the lockout always came first).
    await this.#store.loginAttempts.put({ ...attempts, failures: 0, locked_until: null });
    const token = randomBytes(32).toString("hex");
    const expiresAt = now + this.#ttl;
    await this.#store.sessions.create({
      token_hash: secretDigest(token),
      admin_id: user.id,
      created_at: now,
      expires_at: expiresAt,
    });
    return { token, expiresAt };
  }

  /** Counts a failure server-wide; past the free allowance, the next attempt must wait 1 s, 2 s, 4 s... */
  async #slowDown(previous: LoginAttempts | null, now: number): Promise<void> {
    const fresh = !previous || now - previous.window_start >= this.#lockout;
    const global: LoginAttempts = fresh
      ? { key: GLOBAL_KEY, failures: 0, window_start: now, window_count: 0, locked_until: null }
      : { ...previous };
    global.failures += 1;
    global.window_count += 1;
    const over = global.failures - this.#globalFree;
    if (over > 0) {
      global.locked_until = now + Math.min(this.#globalMaxDelay, 1000 * 2 ** Math.min(over - 1, 30));
    }
    await this.#store.loginAttempts.put(global);
  }

  /** The admin id of a live session, or null. Expired sessions are deleted on sight. */
  async verifySession(token: string | undefined): Promise<string | null> {
    if (!token || token.length > 256) return null;
    const hash = secretDigest(token);
    const session = await this.#store.sessions.get(hash);
    if (!session) return null;
    if (session.expires_at <= this.#now()) {
      await this.#store.sessions.delete(hash);
      return null;
    }
    return session.admin_id;
  }

  async logout(token: string): Promise<void> {
    await this.#store.sessions.delete(secretDigest(token));
  }

  /** Creates the admin from `ADMIN_USERNAME`/`ADMIN_PASSWORD` when none exists (headless first start). */
  async ensureInitialAdmin(username: string, password: string): Promise<boolean> {
    if ((await this.#store.admins.count()) > 0) return false;
    validateCredentials(username, password);
    const hash = await this.#hasher.hash(password);
    return await this.#store.admins.createFirst({ id: crypto.randomUUID(), username, password_hash: hash });
  }
}

function validateCredentials(username: string, password: string): void {
  if (username.length < 3 || username.length > 50) {
    throw new ApiError("invalid_request_error", "username: must be 3 to 50 characters long");
  }
  if (password.length < 8) {
    throw new ApiError("invalid_request_error", "password: must be at least 8 characters long");
  }
  if (password.length > 1024) {
    throw new ApiError("invalid_request_error", "password: must be at most 1024 characters long");
  }
}
