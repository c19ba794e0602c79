/**
 * Decides which channels may serve a requested model and which upstream model name each account uses.
 *
 * Pure: routing settings and accounts come in as data. No surprises in the chain: a model no channel
 * knows is not silently sent as another model; exclusive lists are honoured; custom accounts use
 * their per-account `other.modelMappings` first, then `other.model`, then the requested name.
 *
 * The name tables are copied into `Map`s once: a requested name is client input, and looking it up in a plain
 * object would find inherited members (`toString`, `constructor`, `__proto__`) instead of "no entry".
 */
import type { Account, AccountType } from "../store/types.ts";
import type { RoutingConfig } from "./routing_config.ts";

export interface ModelRoute {
  /** The model after the global mapping; the name echoed to the client. */
  model: string;
  /** Channels allowed to serve it. */
  channels: AccountType[];
}

export class ModelRouter {
  #config: RoutingConfig;
  #aliases: ReadonlyMap<string, string>;
  #amazonqIds: ReadonlyMap<string, string>;
  #geminiMapping: ReadonlyMap<string, string>;

  constructor(config: RoutingConfig) {
    this.#config = config;
    this.#aliases = new Map(Object.entries(config.amq_model_mapping));
    this.#amazonqIds = new Map(Object.entries(config.amazonq_model_ids));
    this.#geminiMapping = new Map(Object.entries(config.model_mapping));
  }

  /** The route of a requested model. */
  route(requested: string): ModelRoute {
    const c = this.#config;
    const model = c.enable_model_mapping ? this.#aliases.get(requested) ?? requested : requested;
    if (model.toLowerCase().startsWith("gemini") || c.gemini_only_models.includes(model)) {
      return { model, channels: ["gemini"] };
    }
    if (c.amazonq_only_models.includes(model)) return { model, channels: ["amazonq"] };
    const channels: AccountType[] = [];
    if (this.amazonqModelId(model) !== null) channels.push("amazonq");
    if (this.geminiModel(model) !== null) channels.push("gemini");
    channels.push("custom_api");
    return { model, channels };
  }

  /** The upstream model an account would use for `model`, or null when it cannot serve it. */
  upstreamModel(account: Account, model: string): string | null {
    switch (account.type) {
      case "amazonq":
        return this.amazonqModelId(model);
      case "gemini":
        return this.geminiModel(model);
      case "custom_api":
        return customModel(account, model);
    }
  }

  amazonqModelId(model: string): string | null {
    const c = this.#config;
    const exact = this.#amazonqIds.get(model);
    if (exact) return exact;
    const lower = model.toLowerCase();
    if (!lower.startsWith("claude")) return null;
    if (lower.includes("opus")) return c.amazonq_family_models.opus;
    if (lower.includes("sonnet")) return c.amazonq_family_models.sonnet;
    if (lower.includes("haiku")) return c.amazonq_family_models.haiku;
    return null;
  }

  geminiModel(model: string): string | null {
    const c = this.#config;
    if (c.supported_models.includes(model)) return model;
    return this.#geminiMapping.get(model) ?? (model.toLowerCase().startsWith("gemini") ? model : null);
  }

  /** Model ids routable with the given accounts (usable ones only), for `GET /v1/models`. */
  listModels(accounts: readonly Account[]): Array<{ id: string; owned_by: string }> {
    const c = this.#config;
    const out = new Map<string, string>();
    const types = new Set(accounts.map((a) => a.type));
    if (types.has("amazonq")) {
      for (const id of [...Object.keys(c.amazonq_model_ids), ...c.amazonq_only_models]) {
        out.set(id, "amazon-q");
      }
    }
    if (types.has("gemini")) {
      for (const id of [...c.supported_models, ...Object.keys(c.model_mapping), ...c.gemini_only_models]) {
        if (!out.has(id)) out.set(id, "gemini");
      }
    }
    for (const account of accounts) {
      if (account.type !== "custom_api") continue;
      for (const id of customModelNames(account)) if (!out.has(id)) out.set(id, "custom");
    }
    if (c.enable_model_mapping) {
      for (const [from, to] of Object.entries(c.amq_model_mapping)) {
        const owner = out.get(to);
        if (owner && !out.has(from)) out.set(from, owner);
      }
    }
    return [...out.entries()]
      .filter(([id]) => this.route(id).channels.some((ch) => types.has(ch)))
      .map(([id, owned_by]) => ({ id, owned_by }))
      .sort((a, b) => a.id.localeCompare(b.id));
  }
}

interface ModelMappingRule {
  requestModel?: unknown;
  targetModel?: unknown;
}

function customModel(account: Account, model: string): string {
  const rules = account.other.modelMappings;
  if (Array.isArray(rules)) {
    for (const rule of rules as ModelMappingRule[]) {
      if (rule && rule.requestModel === model && typeof rule.targetModel === "string" && rule.targetModel) {
        return rule.targetModel;
      }
    }
  }
  const fixed = account.other.model;
  return typeof fixed === "string" && fixed.trim() ? fixed.trim() : model;
}

function customModelNames(account: Account): string[] {
  const names: string[] = [];
  const rules = account.other.modelMappings;
  if (Array.isArray(rules)) {
    for (const rule of rules as ModelMappingRule[]) {
      if (rule && typeof rule.requestModel === "string") names.push(rule.requestModel);
    }
  }
  if (typeof account.other.model === "string" && account.other.model) names.push(account.other.model);
  return names;
}
