/**
 * Times a pipeline run `rounds` times (after two warm-up runs) and prints its median with the derived
 * rates, so the benches report medians (deno bench's table shows means). The median CPU time of a run (this
 * process, user + system) is printed too: on a shared, busy machine it moves far less than wall time.
 */
import process from "node:process";

export async function reportMedian(
  label: string,
  run: () => Promise<unknown>,
  sizes: { events: number; bytesIn: number },
  rounds = 15,
): Promise<void> {
  await run();
  await run();
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    await run();
    const used = process.cpuUsage(cpuStart);
    times.push(performance.now() - start);
    cpu.push((used.user + used.system) / 1000);
  }
  const median = (values: number[]) => {
    values.sort((a, b) => a - b);
    return rounds % 2 ? values[rounds >> 1]! : (values[rounds / 2 - 1]! + values[rounds / 2]!) / 2;
  };
  const ms = median(times);
  const cpuMs = median(cpu);
  // deno-lint-ignore no-console
  console.log(
    `${label}: median ${ms.toFixed(1)} ms over ${rounds} runs = ${
      Math.round(sizes.events / (ms / 1000))
    } events/s, ` +
      `${(sizes.bytesIn / 1024 / 1024 / (ms / 1000)).toFixed(1)} MiB/s in; median CPU ${
        cpuMs.toFixed(1)
      } ms = ${Math.round(sizes.events / (cpuMs / 1000))} events per CPU-second`,
  );
}
