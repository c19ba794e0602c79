/**
 * How close the estimator's input counts get to an upstream's after `TokenCalibration` has seen it report its
 * own counts.
 *
 * A mixed corpus is generated deterministically: plain prompts, source code, requests dominated by tool
 * schemas, and Claude Code-sized histories (a conversation growing from about 30k to 60k tokens). A fake
 * upstream counts each request with a model-specific bias (claude x1.18, gemini x0.93), a per-kind tokenizer
 * difference (code +5 %, schemas -4 %, histories +2 %), a few tokens of framing and +/-2 % noise. The bench
 * replays 60 requests per model in a shuffled order and prints the median absolute percentage error of the
 * raw estimate and of the calibrated estimate after the 20th request; the goal is under 3 %.
 *
 * Run: `npx -y deno@2.9.6 bench --allow-read bench/calibration_bench.ts`.
 */
import { normalizeClaudeRequest } from "../lib/claude/normalize_request.ts";
import type { ClaudeRequest, RawCountTokensRequest } from "../lib/claude/request_schema.ts";
import { TokenCalibration } from "../lib/usage/token_calibration.ts";
import { TokenEstimator } from "../lib/usage/token_estimator.ts";

/** Deterministic PRNG (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = seeded(2026);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const NOUNS = [
  "account",
  "request",
  "stream",
  "token",
  "cache",
  "model",
  "tenant",
  "budget",
  "router",
  "queue",
];
const VERBS = [
  "reads",
  "writes",
  "splits",
  "counts",
  "retries",
  "parks",
  "streams",
  "prices",
  "caches",
  "routes",
];
function prose(sentences: number): string {
  const out: string[] = [];
  for (let i = 0; i < sentences; i++) {
    out.push(
      `The ${pick(NOUNS)} ${pick(VERBS)} the ${pick(NOUNS)} before the ${pick(NOUNS)} ${pick(VERBS)} it.`,
    );
  }
  return out.join(" ");
}

function code(functions: number): string {
  const out: string[] = [];
  for (let i = 0; i < functions; i++) {
    const name = `${pick(VERBS)}${pick(NOUNS)[0]!.toUpperCase()}${pick(NOUNS).slice(1)}${i}`;
    out.push(
      `export async function ${name}(input: ${pick(["string", "number[]", "Record<string, unknown>"])}) {\n` +
        `  const ${pick(NOUNS)} = await deps.${pick(NOUNS)}.${pick(VERBS)}(input, { limit: ${i * 7} });\n` +
        `  if (!${pick(NOUNS)}) throw new Error("${prose(1)}");\n` +
        `  return ${pick(NOUNS)}.map((x) => x.${pick(NOUNS)} ?? ${i});\n}\n`,
    );
  }
  return out.join("\n");
}

function schemaTools(count: number): RawCountTokensRequest["tools"] {
  return Array.from({ length: count }, (_, i) => ({
    name: `${pick(VERBS)}_${pick(NOUNS)}_${i}`,
    description: prose(3),
    input_schema: {
      type: "object",
      properties: Object.fromEntries(
        Array.from({ length: 5 }, (_, j) => [`${pick(NOUNS)}_${j}`, {
          type: pick(["string", "integer", "boolean", "array"]),
          description: prose(1),
        }]),
      ),
      required: [`${pick(NOUNS)}_0`],
    },
  }));
}

type Kind = "prose" | "code" | "schema" | "history";
const KIND_FACTOR: Record<Kind, number> = { prose: 1, code: 1.05, schema: 0.96, history: 1.02 };

/** A conversation that grows by one tool round per history request. */
const conversation: RawCountTokensRequest["messages"] = [{ role: "user", content: prose(20) }];
const historySystem = prose(120);
const historyTools = schemaTools(18);
while (JSON.stringify(conversation).length < 110_000) grow();
function grow() {
  const id = `toolu_${conversation.length}`;
  conversation.push({
    role: "assistant",
    content: [{
      type: "tool_use",
      id,
      name: historyTools![0]!.name,
      input: { path: `src/${pick(NOUNS)}.ts` },
    }],
  });
  conversation.push({
    role: "user",
    content: [{ type: "tool_result", tool_use_id: id, content: random() < 0.6 ? code(6) : prose(30) }],
  });
}

function corpusRequest(kind: Kind): ClaudeRequest {
  const body: RawCountTokensRequest = { model: "m", messages: [] };
  if (kind === "prose") body.messages = [{ role: "user", content: prose(5 + Math.floor(random() * 200)) }];
  if (kind === "code") {
    body.messages = [{ role: "user", content: `Review this:\n${code(2 + Math.floor(random() * 40))}` }];
  }
  if (kind === "schema") {
    body.tools = schemaTools(5 + Math.floor(random() * 25));
    body.messages = [{ role: "user", content: prose(2) }];
  }
  if (kind === "history") {
    for (let i = 0; i < 4; i++) grow();
    body.system = historySystem;
    body.tools = historyTools;
    body.messages = [...conversation];
  }
  return normalizeClaudeRequest(body);
}

const KINDS: Kind[] = ["prose", "prose", "code", "code", "schema", "history"];
const requests = Array.from({ length: 60 }, () => {
  const kind = pick(KINDS);
  return { kind, request: corpusRequest(kind) };
});

const estimator = new TokenEstimator();
const estimates = requests.map(({ request }) => estimator.countRequest(request));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

for (const [model, bias] of [["claude-sonnet-4-5", 1.18], ["gemini-2.5-pro", 0.93]] as const) {
  const noise = seeded(model.length);
  const calibration = new TokenCalibration();
  const before: number[] = [];
  const after: number[] = [];
  requests.forEach(({ kind }, i) => {
    const estimate = estimates[i]!;
    const upstream = Math.round(estimate * bias * KIND_FACTOR[kind] * (1 + (noise() * 2 - 1) * 0.02)) + 8;
    const ape = (guess: number) => Math.abs(guess - upstream) / upstream * 100;
    before.push(ape(estimate));
    if (i >= 20) after.push(ape(calibration.calibrate(model, estimate)));
    calibration.observe(model, estimate, upstream);
  });
  const sizes = estimates.map((n) => n);
  // deno-lint-ignore no-console
  console.log(
    `${model} (bias x${bias}): median absolute error ${median(before).toFixed(1)} % uncalibrated, ` +
      `${median(after).toFixed(1)} % calibrated after 20 requests (factor ${
        calibration.factor(model).toFixed(3)
      }; ` +
      `${requests.length} requests of ${Math.min(...sizes)} to ${Math.max(...sizes)} tokens)`,
  );
}

const timing = new TokenCalibration();
for (let i = 0; i < 10; i++) timing.observe("claude-sonnet-4-5", 1000, 1180);
Deno.bench("calibration: observe + calibrate", () => {
  timing.observe("claude-sonnet-4-5", 50_000, 59_000);
  timing.calibrate("claude-sonnet-4-5", 50_000);
});
