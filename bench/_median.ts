/**
 * Times a pipeline run `rounds` times (after two warm-up runs) and prints its median with the derived
 * rates, so the benches report medians (deno bench's table shows means).
 */
export async function reportMedian(
  label: string,
  run: () => Promise<unknown>,
  sizes: { events: number; bytesIn: number },
  rounds = 15,
): Promise<void> {
  await run();
  await run();
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const ms = rounds % 2 ? times[rounds >> 1]! : (times[rounds / 2 - 1]! + times[rounds / 2]!) / 2;
  // deno-lint-ignore no-console
  console.log(
    `${label}: median ${ms.toFixed(1)} ms over ${rounds} runs = ${
      Math.round(sizes.events / (ms / 1000))
    } events/s, ` +
      `${(sizes.bytesIn / 1024 / 1024 / (ms / 1000)).toFixed(1)} MiB/s in`,
  );
}
