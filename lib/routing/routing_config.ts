/**
 * The runtime routing settings kept in the store's `config` table and edited through `/v2/config`.
 *
 * The established keys (`gemini_only_models`, `amazonq_only_models`, `supported_models`,
 * `model_mapping`, `enable_model_mapping`, `amq_model_mapping`) keep their meaning, plus `amazonq_model_ids` and `amazonq_family_models`, the Claude-name -> Amazon Q
 * model-id table, editable at run time, and `model_fallbacks` (the models to try, in order, when
 * no account can take the requested one right now). Every value is validated before any is written, and an
 * empty list means empty (never silently replaced by a built-in list).
 */
import { z } from "zod";

const modelName = z.string().trim().min(1).max(200);
const modelList = z.array(modelName).max(500);
const modelMap = z.record(modelName, modelName);

export const routingConfigSchema = z.strictObject({
  gemini_only_models: modelList,
  amazonq_only_models: modelList,
  supported_models: modelList,
  model_mapping: modelMap,
  enable_model_mapping: z.boolean(),
  amq_model_mapping: modelMap,
  amazonq_model_ids: modelMap,
  amazonq_family_models: z.strictObject({ opus: modelName, sonnet: modelName, haiku: modelName }),
  /** A model -> the models to try next when no account can take it right now (see `model_fallback.ts`). */
  model_fallbacks: z.record(modelName, z.array(modelName).min(1).max(10)).refine(
    (map) => Object.entries(map).every(([from, to]) => !to.includes(from)),
    { message: "a model cannot fall back to itself" },
  ).refine((map) => Object.keys(map).length <= 500, { message: "at most 500 models" }),
});

export type RoutingConfig = z.infer<typeof routingConfigSchema>;
export type RoutingConfigKey = keyof RoutingConfig;
export const ROUTING_CONFIG_KEYS = Object.keys(routingConfigSchema.shape) as RoutingConfigKey[];

/** Defaults seeded into an empty store. */
export const DEFAULT_ROUTING_CONFIG: RoutingConfig = {
  gemini_only_models: ["claude-sonnet-4-5-thinking", "claude-opus-4-5-thinking", "gemini-3-flash"],
  amazonq_only_models: ["claude-sonnet-4", "claude-sonnet-4.5", "claude-haiku-4.5"],
  supported_models: [
    "gemini-2.5-flash",
    "gemini-2.5-flash-thinking",
    "gemini-2.5-pro",
    "gemini-3-pro-low",
    "gemini-3-pro-high",
    "gemini-2.5-flash-lite",
    "claude-sonnet-4-5",
    "claude-sonnet-4-5-thinking",
    "claude-opus-4-5-thinking",
    "gemini-3-flash",
  ],
  model_mapping: {
    "claude-sonnet-4.5": "claude-sonnet-4-5",
    "claude-3-5-sonnet-20241022": "claude-sonnet-4-5",
    "claude-haiku-4": "gemini-2.5-flash",
    "claude-3-haiku-20240307": "gemini-2.5-flash",
  },
  enable_model_mapping: true,
  // Nothing is silently downgraded: clients get the model they asked for
  // unless an operator adds a rule here.
  amq_model_mapping: {},
  amazonq_model_ids: {
    "claude-sonnet-4": "claude-sonnet-4",
    "claude-sonnet-4-20250514": "claude-sonnet-4",
    "claude-sonnet-4.5": "claude-sonnet-4.5",
    "claude-sonnet-4-5": "claude-sonnet-4.5",
    "claude-sonnet-4-5-20250929": "claude-sonnet-4.5",
    "claude-sonnet-4.6": "claude-sonnet-4.6",
    "claude-sonnet-4-6": "claude-sonnet-4.6",
    "claude-opus-4.5": "claude-opus-4.5",
    "claude-opus-4-5": "claude-opus-4.5",
    "claude-opus-4-5-20251101": "claude-opus-4.5",
    "claude-opus-4.6": "claude-opus-4.6",
    "claude-opus-4-6": "claude-opus-4.6",
    "claude-haiku-4.5": "claude-haiku-4.5",
    "claude-haiku-4-5": "claude-haiku-4.5",
    "claude-haiku-4-5-20251001": "claude-haiku-4.5",
  },
  // Newer names of a known family (e.g. the Opus name Claude Code sends by default) fall back to these.
  amazonq_family_models: { opus: "claude-opus-4.6", sonnet: "claude-sonnet-4.6", haiku: "claude-haiku-4.5" },
  // No model is silently swapped for another unless an operator says so.
  model_fallbacks: {},
};

/** Validates a partial update; returns the parsed values or a list of `key: problem` messages. */
export function validateRoutingPatch(
  patch: unknown,
): { ok: true; value: Partial<RoutingConfig> } | { ok: false; errors: string[] } {
  if (!patch || typeof patch !== "object" || Array.isArray(patch)) {
    return { ok: false, errors: ["body: must be a JSON object"] };
  }
  const result = routingConfigSchema.partial().safeParse(patch);
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    errors: result.error.issues.map((issue) => {
      if (issue.code === "unrecognized_keys") {
        return `${issue.keys.join(", ")}: unknown configuration key (allowed: ${
          ROUTING_CONFIG_KEYS.join(", ")
        })`;
      }
      return `${issue.path.join(".") || "body"}: ${issue.message}`;
    }),
  };
}

/** Reads the stored values over the defaults; invalid stored values fall back to the default. */
export function routingConfigFrom(stored: Record<string, unknown>): RoutingConfig {
  const out: Record<string, unknown> = { ...DEFAULT_ROUTING_CONFIG };
  for (const key of ROUTING_CONFIG_KEYS) {
    if (!(key in stored)) continue;
    const parsed = routingConfigSchema.shape[key].safeParse(stored[key]);
    if (parsed.success) out[key] = parsed.data;
  }
  return out as RoutingConfig;
}
