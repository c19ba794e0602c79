/**
 * `importTokenCache`: turns a token cache file left on disk by Amazon Q / Kiro tools into a new account.
 *
 * Recognised shapes (given as the file's JSON text; reading the file is the caller's business):
 * - AWS SSO cache `~/.aws/sso/cache/<hash>.json` as the Q CLI and IDE plugins write it:
 *   `{accessToken, refreshToken, expiresAt, clientId, clientSecret, region, startUrl?, ...}` -> an `idc`
 *   account. When the token file lacks the client registration (the AWS CLI keeps it in a second file of the
 *   same directory), pass that file's text as `clientRegistration`.
 * - Kiro `~/.aws/sso/cache/kiro-auth-token.json`: `{accessToken, refreshToken, expiresAt, profileArn?,
 *   authMethod: "social" | "IdC", provider: "Google" | "Github" | "BuilderId" | "Enterprise", region?,
 *   clientIdHash?}` -> a `social` account (refreshed through Kiro's own refresh service),
 *   or an `idc` account when the registration is supplied.
 * Secrets go to `refreshToken` / `accessToken` / `clientSecret`, never into `other`. Errors are `ApiError`s
 * (400) that name what is missing without echoing any value. Pure: no I/O, no clock.
 */
import { ApiError } from "../errors.ts";
import { assertJsonDepth } from "../json_depth_guard.ts";
import type { NewAccount } from "../store/types.ts";

export interface TokenCacheImportOptions {
  label?: string;
  /** JSON text of the SSO client registration file (`{clientId, clientSecret, expiresAt}`), if separate. */
  clientRegistration?: string;
}

function parseObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  assertJsonDepth(text);
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError("invalid_request_error", `${what} is not valid JSON`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new ApiError("invalid_request_error", `${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

const str = (
  value: unknown,
): string | undefined => (typeof value === "string" && value.length > 0 ? value : undefined);

function expiry(value: unknown): number | null {
  if (typeof value === "number" && Number.isFinite(value)) return value < 1e12 ? value * 1000 : value;
  if (typeof value === "string") {
    const at = Date.parse(value);
    if (!Number.isNaN(at)) return at;
  }
  return null;
}

/** Parses a token cache file into a new `amazonq` account. */
export function importTokenCache(json: string, options: TokenCacheImportOptions = {}): NewAccount {
  const file = parseObject(json, "token cache file");
  const refreshToken = str(file.refreshToken);
  const isKiro = "authMethod" in file || "provider" in file || "profileArn" in file;
  if (!refreshToken) {
    if (str(file.clientId) && str(file.clientSecret)) {
      throw new ApiError(
        "invalid_request_error",
        "this is an SSO client registration file, not a token file; import the token file and pass this one as its client registration",
      );
    }
    throw new ApiError(
      "invalid_request_error",
      "unrecognised token cache file: expected an AWS SSO cache or Kiro token file with a refreshToken",
    );
  }

  let clientId = str(file.clientId);
  let clientSecret = str(file.clientSecret);
  let clientSecretExpiresAt: number | null = null;
  if (options.clientRegistration !== undefined) {
    const registration = parseObject(options.clientRegistration, "client registration file");
    clientId = str(registration.clientId);
    clientSecret = str(registration.clientSecret);
    if (!clientId || !clientSecret) {
      throw new ApiError(
        "invalid_request_error",
        "client registration file has no clientId and clientSecret",
      );
    }
    clientSecretExpiresAt = expiry(registration.expiresAt);
  }

  const authMethod = str(file.authMethod)?.toLowerCase();
  const provider = str(file.provider);
  let authType: "idc" | "social";
  if (isKiro) {
    const socialProvider = provider !== undefined && /^(google|github)$/i.test(provider);
    authType = authMethod === "social" || (authMethod === undefined && socialProvider) ? "social" : "idc";
    if (authType === "idc" && (!clientId || !clientSecret)) {
      throw new ApiError(
        "invalid_request_error",
        "Kiro IdC token file needs its SSO client registration (the cache file named by clientIdHash)",
      );
    }
  } else {
    if (!clientId || !clientSecret) {
      throw new ApiError(
        "invalid_request_error",
        "AWS SSO token file has no clientId and clientSecret; pass the client registration file as well",
      );
    }
    authType = "idc";
  }

  const other: Record<string, unknown> = { authType, importedFrom: isKiro ? "kiro" : "aws-sso-cache" };
  const profileArn = str(file.profileArn);
  if (profileArn) other.profileArn = profileArn;
  const region = str(file.region);
  if (region) other.region = region;
  if (provider) other.provider = provider;
  const startUrl = str(file.startUrl);
  if (startUrl) other.startUrl = startUrl;
  const registrationExpiry = clientSecretExpiresAt ?? expiry(file.registrationExpiresAt);
  if (registrationExpiry !== null) other.clientSecretExpiresAt = registrationExpiry;

  return {
    type: "amazonq",
    label: options.label ?? (provider ? `Kiro ${provider}` : isKiro ? "Kiro" : "Amazon Q"),
    clientId: authType === "idc" ? clientId ?? null : null,
    clientSecret: authType === "idc" ? clientSecret ?? null : null,
    refreshToken,
    accessToken: str(file.accessToken) ?? null,
    tokenExpiresAt: expiry(file.expiresAt),
    other,
  };
}
