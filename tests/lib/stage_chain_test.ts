import assert from "node:assert/strict";
import { StageChain } from "../../lib/stage_chain.ts";

/** Records what a stage heard, in order, across every stage of a test. */
function recorder() {
  const log: string[] = [];
  const stage = (name: string, map: (x: number) => number[] = (x) => [x]): Transformer<number, number> => ({
    transform(x, c) {
      for (const y of map(x)) c.enqueue(y);
    },
    flush: () => void log.push(`${name} flush`),
    cancel: (reason) => void log.push(`${name} cancel ${reason instanceof Error ? reason.message : reason}`),
  });
  return { log, stage };
}

async function collect<T>(stream: ReadableStream<T>): Promise<{ out: T[]; error?: unknown }> {
  const out: T[] = [];
  try {
    for await (const x of stream) out.push(x);
    return { out };
  } catch (error) {
    return { out, error };
  }
}

Deno.test("a chain gives what the same stages piped one after another give, flushing in order", async () => {
  const build = () => {
    const { log, stage } = recorder();
    return { log, stages: [stage("a", (x) => [x, x * 10]), stage("b", (x) => x % 20 === 0 ? [] : [x + 1])] };
  };
  const input = () => ReadableStream.from([1, 2, 3]);
  const chained = build();
  const fused = await collect(input().pipeThrough(new StageChain<number, number>(chained.stages)));
  const piped = build();
  let stream: ReadableStream<number> = input();
  for (const s of piped.stages) stream = stream.pipeThrough(new TransformStream(s));
  const separate = await collect(stream);
  assert.deepEqual(fused.out, [2, 11, 3, 4, 31]);
  assert.deepEqual(fused.out, separate.out);
  assert.deepEqual(chained.log, ["a flush", "b flush"]);
  assert.deepEqual(chained.log, piped.log);
});

Deno.test("terminate in a stage: earlier stages cancelled, later ones flushed, output closed, source cancelled", async () => {
  const { log, stage } = recorder();
  let sourceCancelled = false;
  let i = 0;
  const source = new ReadableStream<number>({
    pull: (c) => c.enqueue(++i),
    cancel: () => void (sourceCancelled = true),
  });
  const stopper: Transformer<number, number> = {
    transform(x, c) {
      c.enqueue(x);
      if (x === 3) c.terminate();
    },
  };
  const { out, error } = await collect(
    source.pipeThrough(new StageChain<number, number>([stage("a"), stopper, stage("c")])),
  );
  assert.equal(error, undefined);
  assert.deepEqual(out, [1, 2, 3]);
  assert.deepEqual(log, ["a cancel undefined", "c flush"]);
  assert.ok(sourceCancelled);
});

Deno.test("an exception in a stage errors the output and every other stage hears cancel", async () => {
  const { log, stage } = recorder();
  const bad: Transformer<number, number> = {
    transform(x, c) {
      if (x === 2) throw new Error("boom");
      c.enqueue(x);
    },
  };
  const { out, error } = await collect(
    ReadableStream.from([1, 2, 3]).pipeThrough(new StageChain<number, number>([stage("a"), bad, stage("c")])),
  );
  assert.deepEqual(out, [1]);
  assert.equal((error as Error).message, "boom");
  assert.deepEqual(log, ["c cancel boom", "a cancel boom"]);
});

Deno.test("a cancelled output cancels every stage once, and a failing source reaches them as cancel", async () => {
  {
    const { log, stage } = recorder();
    const output = ReadableStream.from([1, 2, 3]).pipeThrough(
      new StageChain<number, number>([stage("a"), stage("b")]),
    );
    const reader = output.getReader();
    assert.deepEqual(await reader.read(), { done: false, value: 1 });
    await reader.cancel("gone");
    assert.deepEqual(log, ["b cancel gone", "a cancel gone"]);
  }
  {
    const { log, stage } = recorder();
    let pulls = 0;
    const source = new ReadableStream<number>({
      pull(c) {
        if (pulls++ === 0) c.enqueue(1);
        else c.error(new Error("upstream reset"));
      },
    }, { highWaterMark: 0 });
    const { out, error } = await collect(source.pipeThrough(new StageChain<number, number>([stage("a")])));
    assert.deepEqual(out, [1]);
    assert.equal((error as Error).message, "upstream reset");
    assert.deepEqual(log, ["a cancel upstream reset"]);
  }
});

Deno.test("an asynchronous stage is refused", async () => {
  const asyncStage: Transformer<number, number> = {
    transform: async (x, c) => {
      await Promise.resolve();
      c.enqueue(x);
    },
  };
  const { error } = await collect(
    ReadableStream.from([1]).pipeThrough(new StageChain<number, number>([asyncStage])),
  );
  assert.match(String(error), /must be synchronous/);
});

Deno.test("chunks read ahead by the caller go through every stage before the rest of the input", async () => {
  const { log, stage } = recorder();
  const { out } = await collect(
    ReadableStream.from([3, 4]).pipeThrough(
      new StageChain<number, number>([stage("a", (x) => [x * 2])], [1, 2]),
    ),
  );
  assert.deepEqual(out, [2, 4, 6, 8]);
  assert.deepEqual(log, ["a flush"]);
});
