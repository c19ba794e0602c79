/**
 * `TokenCalibration`: a per-model factor that brings the estimator's input counts onto the upstream's.
 *
 * The estimator counts with `cl100k_base`, not the upstream's tokenizer, so its numbers are off by a
 * model-dependent ratio (Claude's tokenizers count more tokens for the same text, Gemini's fewer). Whenever an
 * upstream reports its own input count, `observe` folds the ratio upstream/estimate into an exponentially
 * weighted mean, kept in log space so that x1.2 and x1/1.2 weigh the same and one odd sample cannot swing it;
 * each sample's ratio is clamped to [1/4, 4] and the factor to [0.5, 2], and the factor is only used after a
 * few samples (`minSamples`). A sample weighs 1/n until that falls to `alpha` (a plain mean of the first
 * samples, then a moving one), so the factor settles within a handful of requests without chasing the last
 * request's kind of content (code and prose tokenize differently) and still follows a tokenizer change. Tiny
 * requests are ignored: their fixed framing dominates the ratio. The state is plain JSON (`toJSON` /
 * `fromJSON`), to be persisted and shared by instances.
 */
import { z } from "zod";

export const calibrationStateSchema = z.object({
  version: z.literal(1),
  models: z.record(
    z.string().min(1).max(200),
    z.object({
      /** Natural log of the factor (EWMA of log(upstream / estimate)). */
      logFactor: z.number().finite().min(Math.log(0.5)).max(Math.log(2)),
      samples: z.number().int().nonnegative(),
      updatedAt: z.number().finite(),
    }),
  ),
});

export type CalibrationState = z.infer<typeof calibrationStateSchema>;

export interface TokenCalibrationOptions {
  /** Weight of a new sample once there are more than 1/alpha samples (0..1). */
  alpha?: number;
  /** Samples before the factor is applied. */
  minSamples?: number;
  /** Estimates below this are not learnt from. */
  minTokens?: number;
  now?: () => number;
  state?: CalibrationState;
}

const MIN_FACTOR = 0.5;
const MAX_FACTOR = 2;
const MAX_SAMPLE_RATIO = 4;

export class TokenCalibration {
  #alpha: number;
  #minSamples: number;
  #minTokens: number;
  #now: () => number;
  #models = new Map<string, { logFactor: number; samples: number; updatedAt: number }>();

  constructor(options: TokenCalibrationOptions = {}) {
    this.#alpha = options.alpha ?? 0.05;
    this.#minSamples = options.minSamples ?? 3;
    this.#minTokens = options.minTokens ?? 50;
    this.#now = options.now ?? Date.now;
    for (const [model, entry] of Object.entries(options.state?.models ?? {})) {
      this.#models.set(model, { ...entry });
    }
  }

  /** Restores a persisted state; anything malformed is refused rather than half-applied. */
  static fromJSON(state: unknown, options: Omit<TokenCalibrationOptions, "state"> = {}): TokenCalibration {
    return new TokenCalibration({ ...options, state: calibrationStateSchema.parse(state) });
  }

  toJSON(): CalibrationState {
    return { version: 1, models: Object.fromEntries([...this.#models].map(([m, e]) => [m, { ...e }])) };
  }

  /** Learns from one request: the estimator's input count and the upstream's for the same request. */
  observe(model: string, estimate: number, upstream: number): void {
    if (!(estimate >= this.#minTokens) || !(upstream > 0) || !Number.isFinite(upstream)) return;
    const ratio = Math.min(MAX_SAMPLE_RATIO, Math.max(1 / MAX_SAMPLE_RATIO, upstream / estimate));
    const sample = Math.log(ratio);
    const entry = this.#models.get(model);
    const samples = (entry?.samples ?? 0) + 1;
    const weight = Math.max(this.#alpha, 1 / samples);
    const next = entry === undefined ? sample : entry.logFactor + weight * (sample - entry.logFactor);
    this.#models.set(model, {
      logFactor: Math.min(Math.log(MAX_FACTOR), Math.max(Math.log(MIN_FACTOR), next)),
      samples,
      updatedAt: this.#now(),
    });
  }

  /** The factor applied to estimates for a model (1 until enough samples). */
  factor(model: string): number {
    const entry = this.#models.get(model);
    if (!entry || entry.samples < this.#minSamples) return 1;
    return Math.exp(entry.logFactor);
  }

  /** A calibrated estimate. */
  calibrate(model: string, estimate: number): number {
    return Math.round(estimate * this.factor(model));
  }
}
