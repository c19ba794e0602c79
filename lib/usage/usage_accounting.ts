/**
 * `UsageAccounting`: the request path's one entry point to the accounting parts, built once per server.
 *
 * - Input counts: the estimator's count times the model's learnt calibration factor, the same number for
 *   `count_tokens` and `message_start` of the same request.
 * - The prompt-cache simulation (when `ENABLE_CACHE_SIMULATION` is on): `prepare` validates the request's
 *   breakpoints (Anthropic's 400s) and returns the lookup to run for channels whose upstream reports no cache
 *   numbers.
 * - Calibration: upstream input counts are folded into the per-model factor; the state is shared with the
 *   other instances through the store at most every `syncMs` (read, merge per model keeping the newer entry,
 *   write back when this process learnt something), never on the request path.
 * - Prices: the admin-edited table from the store (defaults when unset), cached for `syncMs`; a record's cost
 *   is computed when it is written.
 */
import type { ClaudeRequest } from "../claude/request_schema.ts";
import type { Logger } from "../log.ts";
import type { Store } from "../store/types.ts";
import { type BillableUsage, type Cost, PriceTable } from "./price_table.ts";
import {
  type PreparedSimulation,
  PromptCacheSimulator,
  type PromptCacheStats,
} from "./prompt_cache_simulator.ts";
import { StoreCacheEntryStore } from "./store_cache_entry_store.ts";
import { type CalibrationState, calibrationStateSchema, TokenCalibration } from "./token_calibration.ts";
import type { TokenEstimator } from "./token_estimator.ts";

const PRICES_KEY = "pricing";
const CALIBRATION_KEY = "token_calibration";

export interface UsageAccountingOptions {
  store: Store;
  estimator: TokenEstimator;
  now: () => number;
  log: Logger;
  /** Simulate the prompt cache (otherwise every input token is plain input). */
  simulate: boolean;
  /** How long prices and calibration are used before the store is read again. */
  syncMs?: number;
  /** Told of every decided prompt-cache lookup (hit or miss): the server's metrics. */
  onCacheLookup?: (hit: boolean) => void;
}

export interface PreparedInput {
  /** The input total `message_start` reports (the calibrated estimate). */
  total: number;
  /** The uncalibrated estimate (what calibration learns against). */
  estimate: number;
  /** The cache lookup, or null when simulation is off. */
  simulation: PreparedSimulation | null;
}

export class UsageAccounting {
  readonly simulator: PromptCacheSimulator | null;
  #o: UsageAccountingOptions;
  #syncMs: number;
  #calibration = new TokenCalibration();
  #learnt = false;
  #calibrationSyncedAt = -Infinity;
  #syncing: Promise<void> | null = null;
  #prices: PriceTable = new PriceTable();
  #pricesAt = -Infinity;

  constructor(options: UsageAccountingOptions) {
    this.#o = options;
    this.#syncMs = options.syncMs ?? 30_000;
    this.simulator = options.simulate
      ? new PromptCacheSimulator({
        counter: options.estimator,
        store: new StoreCacheEntryStore(options.store.cacheEntries),
        now: options.now,
        ...(options.onCacheLookup ? { onLookup: options.onCacheLookup } : {}),
      })
      : null;
  }

  /** The calibrated input count for an estimate (what `count_tokens` answers). */
  inputTotal(model: string, estimate: number): number {
    this.#maybeSync();
    return this.#calibration.calibrate(model, estimate);
  }

  /**
   * Counts, calibrates and (when on) prepares the simulation; throws the breakpoint 400s. `automatic` caches
   * a request that carries no markers as Anthropic's automatic caching does (a breakpoint on the last
   * block): OpenAI clients cannot mark blocks, and OpenAI caches long prompts on its own.
   */
  prepare(request: ClaudeRequest, keyId: string, model: string, automatic = false): PreparedInput {
    if (!this.simulator) {
      const estimate = this.#o.estimator.countRequest(request);
      return { total: this.inputTotal(model, estimate), estimate, simulation: null };
    }
    const simulated = automatic && request.extra["cache_control"] === undefined
      ? { ...request, extra: { ...request.extra, cache_control: { type: "ephemeral" } } }
      : request;
    // The simulation's walk counts every block (its total equals `countRequest`), so it is the count.
    const simulation = this.simulator.prepare({
      request: simulated,
      keyId,
      model,
      calibrate: (estimate) => this.inputTotal(model, estimate),
    });
    return { total: simulation.total, estimate: simulation.estimate, simulation };
  }

  /** Learns from an upstream's own input count for a request estimated at `estimate`. */
  observe(model: string, estimate: number, upstream: number): void {
    this.#calibration.observe(model, estimate, upstream);
    this.#learnt = true;
    this.#maybeSync();
  }

  /** Reads and writes the shared calibration now (tests, start-up); the request path never waits on it. */
  async syncCalibration(): Promise<void> {
    this.#calibrationSyncedAt = this.#o.now();
    const raw = await this.#o.store.settings.get(CALIBRATION_KEY);
    let stored: CalibrationState | null = null;
    if (raw !== null) {
      const parsed = calibrationStateSchema.safeParse(JSON.parse(raw));
      if (parsed.success) stored = parsed.data;
    }
    const mine = this.#calibration.toJSON();
    const merged: CalibrationState = { version: 1, models: { ...(stored?.models ?? {}) } };
    for (const [model, entry] of Object.entries(mine.models)) {
      const other = merged.models[model];
      if (!other || entry.updatedAt >= other.updatedAt) merged.models[model] = entry;
    }
    this.#calibration = new TokenCalibration({ state: merged, now: this.#o.now });
    if (this.#learnt) {
      this.#learnt = false;
      await this.#o.store.settings.put(CALIBRATION_KEY, JSON.stringify(merged));
    }
  }

  #maybeSync(): void {
    if (this.#syncing || this.#o.now() - this.#calibrationSyncedAt < this.#syncMs) return;
    this.#syncing = this.syncCalibration()
      .catch((error) => this.#o.log.warn("token calibration sync failed", { error }))
      .finally(() => this.#syncing = null);
  }

  /**
   * The price table last read, without waiting for the store: for callers that price synchronously (the
   * client-key budgets). `prices()` re-reads it at least every `syncMs` as records are written.
   */
  get currentPrices(): PriceTable {
    return this.#prices;
  }

  /** The price table in force (the stored one, or the defaults). */
  async prices(): Promise<PriceTable> {
    if (this.#o.now() - this.#pricesAt < this.#syncMs) return this.#prices;
    const raw = await this.#o.store.settings.get(PRICES_KEY);
    try {
      this.#prices = raw === null ? new PriceTable() : PriceTable.parse(JSON.parse(raw));
    } catch (error) {
      this.#o.log.warn("stored price table unreadable; using the defaults", { error });
      this.#prices = new PriceTable();
    }
    this.#pricesAt = this.#o.now();
    return this.#prices;
  }

  /** Validates (400 on a bad table) and stores a new price table. */
  async setPrices(input: unknown): Promise<PriceTable> {
    const table = PriceTable.parse(input);
    await this.#o.store.settings.put(PRICES_KEY, JSON.stringify(table.data));
    this.#prices = table;
    this.#pricesAt = this.#o.now();
    return table;
  }

  /** The cost of a request: priced by the requested model, else by the upstream's. */
  async cost(usage: BillableUsage, model: string, upstreamModel: string | null): Promise<Cost> {
    const prices = await this.prices();
    const cost = prices.cost(usage, model);
    return cost.priced || upstreamModel === null ? cost : prices.cost(usage, upstreamModel);
  }

  /** Hits and misses of this process, entries and evictions of the shared store. */
  async cacheStats(): Promise<PromptCacheStats & { enabled: boolean }> {
    if (!this.simulator) {
      const { entries, evictions } = await this.#o.store.cacheEntries.stats(this.#o.now());
      return { enabled: false, hits: 0, misses: 0, hitRate: 0, entries, evictions };
    }
    return { enabled: true, ...(await this.simulator.stats()) };
  }
}
