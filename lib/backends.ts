/**
 * The upstream backends (Amazon Q, Gemini, custom API) wired for `buildDeps`: their channels, token
 * refreshers, the onboarding objects the routes use (Amazon Q device logins, the Gemini sign-in flow, the
 * quota reader) and the custom connectivity check, from configuration. Built once at start; the upstream
 * `fetch` keeps its pooled connections for the life of the process.
 */
import { assertAccountInput } from "./accounts/account_input.ts";
import { AllowanceClient } from "./amazonq/allowance_client.ts";
import { AmazonQChannel } from "./amazonq/amazonq_channel.ts";
import { AmazonQRefresher } from "./amazonq/amazonq_refresher.ts";
import { DeviceLogin } from "./amazonq/device_login.ts";
import { DeviceLoginSessions } from "./amazonq/device_login_sessions.ts";
import type { BackendBuildParts, BackendParts } from "./build_deps.ts";
import { StorePendingSignIns } from "./gemini/pending_sign_ins.ts";
import type { ThinkingSigner } from "./claude/thinking_signer.ts";
import type { Config } from "./config.ts";
import { CodeAssistClient } from "./gemini/code_assist_client.ts";
import { GeminiChannel } from "./gemini/gemini_channel.ts";
import { GeminiRefresher } from "./gemini/gemini_refresher.ts";
import { GeminiOAuthFlow } from "./gemini/oauth_flow.ts";
import { CustomChannel } from "./custom/custom_channel.ts";
import { customConnectionCheck } from "./custom/custom_connection_check.ts";
import type { TokenEstimator } from "./usage/token_estimator.ts";
import { UpstreamClients } from "./upstream/upstream_clients.ts";
import type { QuotaFetcher } from "./gemini/quota_refresh_job.ts";

export interface BackendInput {
  config: Config;
  signer: ThinkingSigner;
  estimator: TokenEstimator;
  staticDir: string;
  /** Test hooks: shorter waits. */
  sleep?: (ms: number) => Promise<void>;
  claimWaitMs?: number;
}

export function createBackends(
  input: BackendInput,
): (parts: BackendBuildParts) => BackendParts {
  const { config, signer, estimator } = input;
  return ({ tokens, fetch, now, store }) => {
    const timeouts = {
      headersMs: config.upstreamTimeoutMs,
      idleMs: config.upstreamIdleTimeoutMs,
      totalMs: config.upstreamTotalTimeoutMs,
    };
    // One pooled client per distinct proxy, shared by every channel and refresher.
    const clients = new UpstreamClients({ defaultProxy: config.upstreamProxy });
    const codeAssist = new CodeAssistClient({ fetch, userAgent: config.gemini.userAgent, now });
    const flow = new GeminiOAuthFlow({
      fetch,
      config: config.gemini,
      codeAssist,
      now,
      // Pending sign-ins live in the store so a user may finish on another instance than the one they began on.
      states: new StorePendingSignIns(store.oauthStates),
    });
    const deviceLogin = new DeviceLogin({
      fetch,
      oidcEndpoint: config.amazonq.oidcEndpoint,
      startUrl: config.amazonq.startUrl,
      now,
    });
    const fetchGeminiQuota: QuotaFetcher = (account, token) =>
      codeAssist.fetchAvailableModels(
        token,
        typeof account.other.api_endpoint === "string"
          ? account.other.api_endpoint
          : config.gemini.apiEndpoint,
        String(account.other.project ?? ""),
      );
    const allowance = new AllowanceClient({
      fetch,
      tokens,
      apiEndpoint: config.amazonq.apiEndpoint,
      profileArn: config.amazonq.profileArn,
      clients,
      now,
    });
    return {
      fetchGeminiQuota,
      fetchAmazonQAllowance: (account) => allowance.fetch(account),
      channels: {
        amazonq: new AmazonQChannel({
          fetch,
          tokens,
          apiEndpoint: config.amazonq.apiEndpoint,
          ...(config.amazonq.profileArn ? { profileArn: config.amazonq.profileArn } : {}),
          signer,
          estimator,
          now,
          timeouts,
          clients,
        }),
        gemini: new GeminiChannel({
          fetch,
          tokens,
          apiEndpoint: config.gemini.apiEndpoint,
          userAgent: config.gemini.userAgent,
          now,
          timeouts,
          clients,
        }),
        custom_api: new CustomChannel({
          fetch,
          sign: (thinking) => signer.sign(thinking),
          now,
          timeouts,
          clients,
        }),
      },
      refreshers: {
        amazonq: new AmazonQRefresher({
          fetch,
          tokenEndpoint: config.amazonq.tokenEndpoint,
          kiroRefreshEndpoint: config.amazonq.kiroRefreshEndpoint,
          now,
          clients,
        }),
        gemini: new GeminiRefresher({
          fetch,
          tokenEndpoint: config.gemini.tokenEndpoint,
          ...(config.gemini.clientId ? { clientId: config.gemini.clientId } : {}),
          ...(config.gemini.clientSecret ? { clientSecret: config.gemini.clientSecret } : {}),
          now,
          codeAssist,
          apiEndpoint: config.gemini.apiEndpoint,
          clients,
        }),
      },
      deviceLogins: new DeviceLoginSessions(deviceLogin, now, async (account) => {
        assertAccountInput(account);
        return (await store.accounts.create(account)).id;
      }),
      deviceLoginClaim: {
        ...(input.claimWaitMs !== undefined ? { claimWaitMs: input.claimWaitMs } : {}),
        ...(input.sleep ? { sleep: input.sleep } : {}),
      },
      geminiOAuth: flow,
      close: () => clients.close(),
      testAccount: (account) =>
        customConnectionCheck(account, { fetch }) as unknown as Promise<Record<string, unknown>>,
    };
  };
}
