/**
 * `upstreamUrlProblem`: whether an admin-set upstream URL (a custom account's `api_base`, a Gemini account's
 * `api_endpoint`) may be used, as a message for the field, or null.
 *
 * Only absolute http(s) URLs qualify: another scheme (`file:`, `data:`) would make the server fetch
 * something other than an API, and a `user:pass@` part would put credentials where logs and error messages
 * show URLs; an upstream's key belongs in the account's secret fields. One rule for both channels, so the
 * Gemini endpoint is held to what the custom one always was.
 */
export function upstreamUrlProblem(value: unknown): string | null {
  if (typeof value !== "string" || value.trim() === "") return "must be an http(s) URL";
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return "must be an http(s) URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must be an http(s) URL";
  if (url.username !== "" || url.password !== "") {
    return "must not carry credentials (user:password@); put the API key in clientSecret";
  }
  return null;
}
