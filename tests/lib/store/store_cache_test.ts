import assert from "node:assert/strict";
import { StoreCache } from "../../../lib/store/store_cache.ts";
import type { StoreArea, StoreChanges } from "../../../lib/store/types.ts";

/** Change counters under the test's control; `version` waits while `hold` is set. */
class FakeChanges implements StoreChanges {
  stored = 0;
  local = 0;
  versionReads = 0;
  hold: Promise<void> | null = null;
  async version(_area: StoreArea): Promise<number> {
    this.versionReads++;
    const stored = this.stored;
    if (this.hold) await this.hold;
    return stored;
  }
  localWrites(_area: StoreArea): number {
    return this.local;
  }
}

function setup(stalenessMs = 1_000) {
  const changes = new FakeChanges();
  const clock = { t: 0 };
  const source = { value: "v0", loads: 0, fail: false };
  const cache = new StoreCache(changes, "accounts", () => {
    source.loads++;
    return source.fail ? Promise.reject(new Error("store down")) : Promise.resolve(source.value);
  }, { stalenessMs, clock: () => clock.t });
  return { changes, clock, source, cache };
}

Deno.test("store cache: within the bound no read at all; after it one counter read, and a reload only on change", async () => {
  const { changes, clock, source, cache } = setup();
  assert.equal(await cache.get(), "v0");
  assert.deepEqual([changes.versionReads, source.loads], [1, 1]);
  clock.t = 999;
  assert.equal(await cache.get(), "v0");
  assert.deepEqual([changes.versionReads, source.loads], [1, 1]);
  clock.t = 1_000;
  assert.equal(await cache.get(), "v0");
  assert.deepEqual([changes.versionReads, source.loads], [2, 1], "unchanged: no reload");
  source.value = "v1";
  changes.stored = 1;
  clock.t = 1_500;
  assert.equal(await cache.get(), "v0", "another process's write waits for the bound");
  clock.t = 2_000;
  assert.equal(await cache.get(), "v1");
  assert.deepEqual([changes.versionReads, source.loads], [3, 2]);
});

Deno.test("store cache: a check that started before this process's write does not answer for after it", async () => {
  const { changes, clock, source, cache } = setup();
  assert.equal(await cache.get(), "v0");
  clock.t = 5_000;
  let release!: () => void;
  changes.hold = new Promise((resolve) => release = resolve);
  const before = cache.get();
  // This process writes while the check is in flight.
  source.value = "v1";
  changes.local = 1;
  changes.stored = 1;
  const after = cache.get();
  release();
  assert.equal(await after, "v1");
  await before;
  changes.hold = null;
  assert.equal(await cache.get(), "v1");
});

Deno.test("store cache: a failed load is reported and retried by the next call, never cached", async () => {
  const { source, cache } = setup();
  source.fail = true;
  await assert.rejects(cache.get(), /store down/);
  source.fail = false;
  assert.equal(await cache.get(), "v0");
  assert.equal(source.loads, 2);
});

Deno.test("store cache: a bound of 0 checks the counter on every call", async () => {
  const { changes, cache } = setup(0);
  for (let i = 0; i < 3; i++) await cache.get();
  assert.equal(changes.versionReads, 3);
});
