import assert from "node:assert/strict";
import { TokenCalibration } from "../../../lib/usage/token_calibration.ts";

/** Deterministic noise in [-spread, spread]. */
function noise(seed: number, spread: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return (a / 2 ** 32 * 2 - 1) * spread;
  };
}

Deno.test("calibration converges on the upstream's count per model", () => {
  const c = new TokenCalibration({ now: () => 0 });
  const jitter = noise(7, 0.03);
  const errors = (model: string, bias: number) => {
    const out: number[] = [];
    for (let i = 0; i < 30; i++) {
      const estimate = 500 + i * 137;
      const upstream = Math.round(estimate * bias * (1 + jitter()));
      out.push(Math.abs(c.calibrate(model, estimate) - upstream) / upstream);
      c.observe(model, estimate, upstream);
    }
    return out;
  };
  const claude = errors("claude-sonnet-4-5", 1.18);
  const gemini = errors("gemini-2.5-pro", 0.93);
  assert.ok(claude[0]! > 0.12 && gemini[0]! > 0.03, "uncalibrated estimates are off by the bias");
  assert.ok(Math.max(...claude.slice(20)) < 0.05, JSON.stringify(claude.slice(20)));
  assert.ok(Math.max(...gemini.slice(20)) < 0.05, JSON.stringify(gemini.slice(20)));
  assert.ok(Math.abs(c.factor("claude-sonnet-4-5") - 1.18) < 0.03);
  assert.ok(Math.abs(c.factor("gemini-2.5-pro") - 0.93) < 0.03);
  assert.equal(c.factor("claude-opus-4-5"), 1, "models learn separately");
});

Deno.test("calibration waits for a few samples, ignores tiny and absurd ones, and stays within [0.5, 2]", () => {
  const c = new TokenCalibration({ minSamples: 3 });
  c.observe("m", 1000, 1500);
  c.observe("m", 1000, 1500);
  assert.equal(c.factor("m"), 1);
  c.observe("m", 1000, 1500);
  assert.ok(Math.abs(c.factor("m") - 1.5) < 1e-9);
  c.observe("m", 10, 1000); // tiny: framing dominates, ignored
  c.observe("m", 1000, 0); // no upstream figure
  c.observe("m", 1000, Number.NaN);
  assert.ok(Math.abs(c.factor("m") - 1.5) < 1e-9);
  for (let i = 0; i < 50; i++) c.observe("m", 1000, 1_000_000); // each sample clamped, factor bounded
  assert.equal(c.factor("m"), 2);
  for (let i = 0; i < 80; i++) c.observe("m", 1000, 1);
  assert.equal(c.factor("m"), 0.5);
  assert.equal(c.calibrate("m", 1001), 501);
});

Deno.test("calibration state round-trips through JSON and malformed state is refused", () => {
  const c = new TokenCalibration({ now: () => 42 });
  for (let i = 0; i < 5; i++) c.observe("claude-sonnet-4-5", 1000, 1180);
  const state = JSON.parse(JSON.stringify(c.toJSON()));
  assert.equal(state.models["claude-sonnet-4-5"].samples, 5);
  assert.equal(state.models["claude-sonnet-4-5"].updatedAt, 42);
  const restored = TokenCalibration.fromJSON(state);
  assert.equal(restored.factor("claude-sonnet-4-5"), c.factor("claude-sonnet-4-5"));
  assert.throws(() => TokenCalibration.fromJSON({ version: 2, models: {} }));
  assert.throws(() =>
    TokenCalibration.fromJSON({ version: 1, models: { m: { logFactor: 5, samples: 1, updatedAt: 0 } } })
  );
});
