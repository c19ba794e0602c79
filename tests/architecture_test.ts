/**
 * The shape of the code, checked so it stays true: dependencies point inward (routes -> composition ->
 * accounts and channels -> admin and routing -> stages and pure conversions -> foundation), `lib/` never
 * imports `routes/`, and no file in `lib/` or `routes/` grows past 400 lines.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const MAX_LINES = 400;

/** Layers, innermost first; a file may import its own layer and the ones inside it, never an outer one. */
const LAYERS: Array<{ name: string; members: string[] }> = [
  {
    name: "foundation",
    members: [
      "lib/errors.ts",
      "lib/log.ts",
      "lib/config.ts",
      "lib/read_json_body.ts",
      "lib/json_depth_guard.ts",
      "lib/sse_response.ts",
      "lib/connection_guard.ts",
      // Pure parsing of a proxy URL, used by the configuration for `UPSTREAM_PROXY`.
      "lib/upstream/proxy_setting.ts",
      "lib/sse_writer.ts",
      "lib/stage_chain.ts",
    ],
  },
  {
    name: "stages and pure conversions",
    members: [
      "lib/claude/",
      "lib/openai/",
      "lib/openai_responses/",
      "lib/usage/",
      "lib/upstream/",
      "lib/store/",
    ],
  },
  { name: "admin and routing", members: ["lib/admin/", "lib/routing/"] },
  {
    name: "accounts and channels",
    members: [
      "lib/accounts/",
      "lib/amazonq/",
      "lib/gemini/",
      "lib/custom/",
      "lib/keys/",
      "lib/observability/",
    ],
  },
  {
    name: "composition",
    // request_auth.ts is the Hono middleware of the HTTP edge: it reads `Deps` and sets `AppEnv` variables.
    // key_limits.ts and key_limit_headers.ts act on the request principal and set response headers at the edge.
    members: [
      "lib/app_env.ts",
      "lib/build_deps.ts",
      "lib/backends.ts",
      "lib/admin/request_auth.ts",
      "lib/keys/key_limits.ts",
      "lib/keys/key_limit_headers.ts",
      "lib/observability/observe_requests.ts",
    ],
  },
  { name: "routes", members: ["routes/"] },
];

/** The layer of a file: named files first (they may sit in a folder of another layer), then folders. */
function layerOf(path: string): number {
  const byFile = LAYERS.findIndex((layer) => layer.members.includes(path));
  if (byFile >= 0) return byFile;
  return LAYERS.findIndex((layer) => layer.members.some((m) => m.endsWith("/") && path.startsWith(m)));
}

async function sourceFiles(): Promise<string[]> {
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(join(ROOT, dir))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.name.endsWith(".ts")) files.push(path);
    }
  };
  await walk("lib");
  await walk("routes");
  return files.sort();
}

/** Relative imports (static, type-only, re-exports and dynamic) of a source text, resolved from the root. */
function importsOf(path: string, source: string): string[] {
  const found: string[] = [];
  const pattern = /(?:\bfrom|\bimport)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;
  for (const match of source.matchAll(pattern)) {
    found.push(relative(ROOT, normalize(join(ROOT, dirname(path), match[1]!))));
  }
  return found;
}

Deno.test("architecture: every lib/ and routes/ file belongs to a layer", async () => {
  const unplaced = (await sourceFiles()).filter((path) => layerOf(path) < 0);
  assert.deepEqual(unplaced, [], "add new folders or root files to LAYERS");
});

Deno.test("architecture: imports point inward and lib/ never imports routes/", async () => {
  const wrong: string[] = [];
  for (const path of await sourceFiles()) {
    const source = await Deno.readTextFile(join(ROOT, path));
    for (const target of importsOf(path, source)) {
      if (path.startsWith("lib/") && target.startsWith("routes/")) {
        wrong.push(`${path} -> ${target} (lib imports routes)`);
      }
      const from = layerOf(path);
      const to = layerOf(target);
      if (to > from) wrong.push(`${path} (${LAYERS[from]?.name}) -> ${target} (${LAYERS[to]?.name})`);
    }
  }
  assert.deepEqual(wrong, []);
});

Deno.test(`architecture: no file in lib/ or routes/ is over ${MAX_LINES} lines`, async () => {
  const long: string[] = [];
  for (const path of await sourceFiles()) {
    const lines = (await Deno.readTextFile(join(ROOT, path))).split("\n").length - 1;
    if (lines > MAX_LINES) long.push(`${path}: ${lines} lines`);
  }
  assert.deepEqual(long, []);
});

Deno.test("architecture: the import check sees imports of every form", () => {
  const source = [
    'import { a } from "../../routes/x.ts";',
    'import type { B } from "./b.ts";',
    'export { c } from "../c.ts";',
    'const d = await import("./d.ts");',
    'import "./e.ts";',
  ].join("\n");
  assert.deepEqual(importsOf("lib/claude/z.ts", source), [
    "routes/x.ts",
    "lib/claude/b.ts",
    "lib/c.ts",
    "lib/claude/d.ts",
    "lib/claude/e.ts",
  ]);
});
