/**
 * `CodeAssistClient`: the Code Assist account calls around chat: `loadCodeAssist`, `onboardUser` (a
 * long-running operation, polled), `fetchAvailableModels` (per-model quota), and `discoverProject` on top of
 * the first two.
 *
 * Project setup as gemini-cli's `setupUser` does it (use `cloudaicompanionProject` when the user
 * has a tier, otherwise onboard onto the default allowed tier, sending no project for `free-tier`) and the
 * model quota as Antigravity's `fetchAvailableModels` reads it. Every call takes the access token and endpoint as arguments, so one
 * client serves all accounts; it holds no state. Failures are classified `UpstreamError`s. Polling is bounded
 * and its sleep is injectable. It is not the chat path (`gemini_channel.ts`).
 */
import { UpstreamError } from "../errors.ts";
import { upstreamCall } from "../upstream/upstream_call.ts";
import { abortableSleep } from "../upstream/abortable_sleep.ts";
import { classifyGoogleError } from "./google_error.ts";

export interface CodeAssistClientOptions {
  fetch: typeof fetch;
  userAgent: string;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Wait between polls of an onboarding operation (gemini-cli waits 5 s). */
  pollIntervalMs?: number;
  /** Polls before onboarding counts as failed. */
  maxPollAttempts?: number;
}

export interface CodeAssistTier {
  id?: string;
  name?: string;
  isDefault?: boolean;
  userDefinedCloudaicompanionProject?: boolean;
}

export interface LoadCodeAssistResult {
  currentTier?: CodeAssistTier;
  allowedTiers?: CodeAssistTier[];
  ineligibleTiers?: Array<{ reasonCode?: string; reasonMessage?: string; validationUrl?: string }>;
  /** The project id, when the account already has one. */
  project?: string;
}

/** Quota of one model, as stored in `other.quota`. */
export interface ModelQuota {
  remainingFraction: number;
  resetTime: string | null;
  displayName?: string;
  recommended?: boolean;
}

const METADATA = { ideType: "ANTIGRAVITY", platform: "PLATFORM_UNSPECIFIED", pluginType: "GEMINI" };

/** `cloudaicompanionProject` is a string in loadCodeAssist and `{id,name}` in onboarding results. */
function projectId(value: unknown): string | undefined {
  if (typeof value === "string" && value) return value;
  if (value && typeof value === "object" && typeof (value as { id?: unknown }).id === "string") {
    return (value as { id: string }).id || undefined;
  }
  return undefined;
}

export class CodeAssistClient {
  #options: CodeAssistClientOptions;

  constructor(options: CodeAssistClientOptions) {
    this.#options = options;
  }

  async #call(
    method: "GET" | "POST",
    url: string,
    accessToken: string,
    body: unknown,
    signal?: AbortSignal,
  ): Promise<Record<string, unknown>> {
    let response: Response;
    try {
      // The endpoint can be set per account by an admin: a redirect is an error, never followed.
      response = await upstreamCall(url, {
        method,
        headers: {
          "authorization": `Bearer ${accessToken}`,
          "content-type": "application/json",
          "user-agent": this.#options.userAgent,
        },
        body: method === "POST" ? JSON.stringify(body ?? {}) : null,
      }, { fetch: this.#options.fetch, provider: "gemini", signal });
    } catch (cause) {
      if (signal?.aborted) throw signal.reason ?? cause;
      if (cause instanceof UpstreamError) throw cause;
      throw new UpstreamError("transient", `Code Assist unreachable: ${(cause as Error)?.message ?? cause}`, {
        provider: "gemini",
        cause,
      });
    }
    const text = await response.text();
    if (!response.ok) {
      throw classifyGoogleError(response.status, text, { now: (this.#options.now ?? Date.now)() });
    }
    try {
      const parsed = JSON.parse(text);
      return parsed && typeof parsed === "object" ? parsed : {};
    } catch (cause) {
      throw new UpstreamError("transient", "Code Assist answered with non-JSON", {
        provider: "gemini",
        cause,
      });
    }
  }

  /** `POST {endpoint}/v1internal:loadCodeAssist`: the user's tier and project, if any. */
  async loadCodeAssist(
    accessToken: string,
    apiEndpoint: string,
    signal?: AbortSignal,
  ): Promise<LoadCodeAssistResult> {
    const body = await this.#call("POST", `${trim(apiEndpoint)}/v1internal:loadCodeAssist`, accessToken, {
      metadata: METADATA,
    }, signal);
    const result: LoadCodeAssistResult = {};
    if (body.currentTier && typeof body.currentTier === "object") {
      result.currentTier = body.currentTier as CodeAssistTier;
    }
    if (Array.isArray(body.allowedTiers)) result.allowedTiers = body.allowedTiers as CodeAssistTier[];
    if (Array.isArray(body.ineligibleTiers)) {
      result.ineligibleTiers = body.ineligibleTiers as LoadCodeAssistResult["ineligibleTiers"];
    }
    const project = projectId(body.cloudaicompanionProject);
    if (project) result.project = project;
    return result;
  }

  /**
   * `POST {endpoint}/v1internal:onboardUser`, then polls the operation (`GET {endpoint}/v1internal/{name}`)
   * until `done`, at most `maxPollAttempts` times. Returns the project the operation assigned, if any.
   */
  async onboardUser(
    accessToken: string,
    apiEndpoint: string,
    options: { tierId: string; project?: string; signal?: AbortSignal },
  ): Promise<{ project: string | undefined }> {
    const base = trim(apiEndpoint);
    // Google manages the free-tier project; sending one gives "Precondition Failed".
    const body: Record<string, unknown> = { tierId: options.tierId, metadata: { ...METADATA } };
    if (options.project && options.tierId !== "free-tier") {
      body.cloudaicompanionProject = options.project;
      (body.metadata as Record<string, unknown>).duetProject = options.project;
    }
    let operation = await this.#call(
      "POST",
      `${base}/v1internal:onboardUser`,
      accessToken,
      body,
      options.signal,
    );
    const sleep = this.#options.sleep ?? abortableSleep;
    const attempts = this.#options.maxPollAttempts ?? 12;
    for (let attempt = 0; operation.done !== true; attempt++) {
      if (attempt >= attempts) {
        throw new UpstreamError(
          "transient",
          `Code Assist onboarding did not finish after ${attempts} polls`,
          {
            provider: "gemini",
          },
        );
      }
      await sleep(this.#options.pollIntervalMs ?? 5000, options.signal);
      const name = typeof operation.name === "string" ? operation.name : "";
      // Without an operation name there is nothing to poll; asking again is how older servers worked.
      operation = name
        ? await this.#call("GET", `${base}/v1internal/${name}`, accessToken, undefined, options.signal)
        : await this.#call("POST", `${base}/v1internal:onboardUser`, accessToken, body, options.signal);
    }
    if (operation.error) {
      throw classifyGoogleError(400, { error: operation.error }, { now: (this.#options.now ?? Date.now)() });
    }
    const response = (operation.response ?? {}) as Record<string, unknown>;
    return { project: projectId(response.cloudaicompanionProject) };
  }

  /** The account's project: the one it has, or the one onboarding onto its default tier gives it. */
  async discoverProject(accessToken: string, apiEndpoint: string, signal?: AbortSignal): Promise<string> {
    const loaded = await this.loadCodeAssist(accessToken, apiEndpoint, signal);
    if (loaded.currentTier && loaded.project) return loaded.project;
    const validation = loaded.ineligibleTiers?.find((t) => t.reasonCode === "VALIDATION_REQUIRED");
    if (!loaded.currentTier && validation) {
      throw new UpstreamError(
        "suspended",
        `the Google account must be verified first${
          validation.validationUrl ? ` at ${validation.validationUrl}` : ""
        }`,
        { provider: "gemini" },
      );
    }
    const tier = loaded.allowedTiers?.find((t) => t.isDefault) ?? { id: "legacy-tier" };
    const { project } = await this.onboardUser(accessToken, apiEndpoint, {
      tierId: tier.id ?? "legacy-tier",
      project: loaded.project,
      signal,
    });
    const found = project ?? loaded.project;
    if (found) return found;
    const reasons = (loaded.ineligibleTiers ?? []).map((t) => t.reasonMessage).filter(Boolean).join("; ");
    throw new UpstreamError(
      "client",
      `no Code Assist project for this account${reasons ? `: ${reasons}` : ""}`,
      {
        provider: "gemini",
      },
    );
  }

  /** `POST {endpoint}/v1internal:fetchAvailableModels`: remaining quota per model. */
  async fetchAvailableModels(
    accessToken: string,
    apiEndpoint: string,
    project: string,
    signal?: AbortSignal,
  ): Promise<Record<string, ModelQuota>> {
    const body = await this.#call(
      "POST",
      `${trim(apiEndpoint)}/v1internal:fetchAvailableModels`,
      accessToken,
      {
        project,
      },
      signal,
    );
    const quotas: Record<string, ModelQuota> = {};
    const models = body.models && typeof body.models === "object"
      ? body.models as Record<string, unknown>
      : {};
    for (const [id, raw] of Object.entries(models)) {
      const model = (raw ?? {}) as Record<string, unknown>;
      if (!model.quotaInfo || typeof model.quotaInfo !== "object") continue;
      const info = model.quotaInfo as Record<string, unknown>;
      // Proto JSON leaves out zero values: a quotaInfo without remainingFraction is an exhausted model.
      const fraction = typeof info.remainingFraction === "number" ? info.remainingFraction : 0;
      const quota: ModelQuota = {
        remainingFraction: Math.min(1, Math.max(0, fraction)),
        resetTime: typeof info.resetTime === "string" ? info.resetTime : null,
      };
      if (typeof model.displayName === "string") quota.displayName = model.displayName;
      if (typeof model.recommended === "boolean") quota.recommended = model.recommended;
      quotas[id] = quota;
    }
    return quotas;
  }
}

function trim(endpoint: string): string {
  return endpoint.replace(/\/+$/, "");
}
