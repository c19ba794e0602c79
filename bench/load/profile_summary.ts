/**
 * Top functions of a V8 `.cpuprofile` by self time (sample counts times the mean sample interval), with
 * their share of the profile, the inclusive share of the project's own functions, and the top allocation
 * sites of a sampling heap profile by self size. `withoutInspectorWork` first drops the samples that exist only
 * because an inspector is attached: Deno then tees every `fetch` response body and drains the copy to report
 * it (an anonymous function of `26_fetch.js` at the bottom of the stack) and emits protocol events
 * (`inspector_network_bridge.js`); that is a quarter of a streaming profile and none of production's work.
 * Used by the load harness and
 * runnable on its own: `deno run --allow-read bench/load/profile_summary.ts file.cpuprofile [top]`.
 */
interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame; children?: number[] }>;
  samples: number[];
  startTime: number;
  endTime: number;
}
interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

const place = (frame: CallFrame) => {
  const file = frame.url.replace(/^.*\/(node_modules|deno|npm|w2-perf|main)\//, "").replace(/^file:\/\//, "");
  return `${frame.functionName || "(anonymous)"} ${file ? `${file}:${frame.lineNumber + 1}` : ""}`.trim();
};

/** The profile without the inspector's own work, and the share of samples that was. */
export function withoutInspectorWork(profile: CpuProfile): { profile: CpuProfile; dropped: number } {
  const parent = new Map<number, number>();
  const frames = new Map<number, CallFrame>();
  for (const node of profile.nodes) {
    frames.set(node.id, node.callFrame);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const inspectorOnly = (leaf: number): boolean => {
    let bottom: CallFrame | undefined;
    for (let id: number | undefined = leaf, depth = 0; id !== undefined && depth < 1_000; depth++) {
      const frame = frames.get(id)!;
      if (frame.url.endsWith("inspector_network_bridge.js")) return true;
      if (frame.functionName === "op_inspector_emit_protocol_event") return true;
      if (frame.functionName !== "(root)") bottom = frame;
      id = parent.get(id);
    }
    return bottom !== undefined && bottom.functionName === "" && bottom.url.endsWith("26_fetch.js");
  };
  const verdict = new Map<number, boolean>();
  const samples = profile.samples.filter((id) => {
    let drop = verdict.get(id);
    if (drop === undefined) verdict.set(id, drop = inspectorOnly(id));
    return !drop;
  });
  const dropped = 1 - samples.length / Math.max(1, profile.samples.length);
  // Time is apportioned per sample, so the kept samples keep their interval.
  const span = (profile.endTime - profile.startTime) * samples.length / Math.max(1, profile.samples.length);
  return { profile: { ...profile, samples, endTime: profile.startTime + span }, dropped };
}

/** Inclusive time of the project's own functions (`lib/`, `routes/`, `main.ts`): where its share goes. */
export function projectInclusive(profile: CpuProfile, top = 20): string[] {
  const parent = new Map<number, number>();
  const nodes = new Map<number, CpuProfile["nodes"][number] & { children?: number[] }>();
  for (const node of profile.nodes as Array<CpuProfile["nodes"][number] & { children?: number[] }>) {
    nodes.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const totals = new Map<string, number>();
  for (const sample of profile.samples) {
    const seen = new Set<string>();
    for (let id: number | undefined = sample, depth = 0; id !== undefined && depth < 1_000; depth++) {
      const frame = nodes.get(id)?.callFrame;
      if (frame && /\/(lib|routes)\/|\/main\.ts$/.test(frame.url)) {
        const key = place(frame);
        if (!seen.has(key)) totals.set(key, (totals.get(key) ?? 0) + 1);
        seen.add(key);
      }
      id = parent.get(id);
    }
  }
  return [...totals].sort((a, b) => b[1] - a[1]).slice(0, top).map(([key, n]) =>
    `${(100 * n / Math.max(1, profile.samples.length)).toFixed(1).padStart(5)} %  ${key}`
  );
}

export function profileSummary(profile: CpuProfile | { head: HeapNode }, top = 20): string[] {
  const totals = new Map<string, number>();
  let all = 0;
  let unit: string;
  if ("head" in profile) {
    unit = "KiB";
    const walk = (node: HeapNode, depth: number) => {
      if (depth > 10_000) return;
      const key = place(node.callFrame);
      totals.set(key, (totals.get(key) ?? 0) + node.selfSize / 1024);
      all += node.selfSize / 1024;
      for (const child of node.children) walk(child, depth + 1);
    };
    walk(profile.head, 0);
  } else {
    unit = "ms";
    const interval = (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.samples.length);
    const byId = new Map(profile.nodes.map((node) => [node.id, place(node.callFrame)]));
    for (const id of profile.samples) {
      const key = byId.get(id) ?? "?";
      totals.set(key, (totals.get(key) ?? 0) + interval);
      all += interval;
    }
  }
  return [...totals].sort((a, b) => b[1] - a[1]).slice(0, top).map(([key, value]) =>
    `${value.toFixed(0).padStart(8)} ${unit} ${(100 * value / all).toFixed(1).padStart(5)} %  ${key}`
  );
}

if (import.meta.main) {
  const raw = JSON.parse(Deno.readTextFileSync(Deno.args[0]!));
  const profile = "head" in raw ? raw : withoutInspectorWork(raw).profile;
  // deno-lint-ignore no-console
  for (const line of profileSummary(profile, Number(Deno.args[1] ?? 20))) console.log(line);
  if (!("head" in profile)) {
    // deno-lint-ignore no-console
    console.log("project functions, inclusive:");
    // deno-lint-ignore no-console
    for (const line of projectInclusive(profile, Number(Deno.args[1] ?? 20))) console.log(`  ${line}`);
  }
}
