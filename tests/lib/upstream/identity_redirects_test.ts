/**
 * Redirects are not followed by the calls around chat either: a Code Assist endpoint (set per account by an
 * admin) and a token endpoint that answer 307 get an error naming the location's host, and the target
 * receives neither the access token nor the refresh token.
 */
import assert from "node:assert/strict";
import { UpstreamError } from "../../../lib/errors.ts";
import { CodeAssistClient } from "../../../lib/gemini/code_assist_client.ts";
import { GeminiRefresher } from "../../../lib/gemini/gemini_refresher.ts";
import { geminiAccount } from "../../_helpers/gemini_helpers.ts";
import { serveFake } from "./_servers.ts";

async function withRedirect(
  body: (redirector: string, targetHost: string) => Promise<void>,
): Promise<number> {
  const target = serveFake(() => Response.json({ access_token: "stolen", expires_in: 3600 }));
  const redirector = serveFake(() =>
    new Response(null, { status: 307, headers: { location: `${target.url}/x` } })
  );
  try {
    await body(redirector.url, new URL(target.url).host);
    return target.hits;
  } finally {
    await redirector.stop();
    await target.stop();
  }
}

Deno.test("CodeAssistClient does not follow a redirect from the account's endpoint", async () => {
  const hits = await withRedirect(async (url, host) => {
    const client = new CodeAssistClient({ fetch, userAgent: "test" });
    await assert.rejects(client.loadCodeAssist("access-token", url), (error: unknown) => {
      assert.ok(error instanceof UpstreamError);
      assert.match(error.message, new RegExp(`redirected to ${host}`));
      return true;
    });
  });
  assert.equal(hits, 0, "the redirect target received nothing");
});

Deno.test("GeminiRefresher does not follow a redirect from the token endpoint", async () => {
  const hits = await withRedirect(async (url, host) => {
    const refresher = new GeminiRefresher({
      fetch,
      tokenEndpoint: `${url}/token`,
      clientId: "cid",
      clientSecret: "csecret",
      codeAssist: new CodeAssistClient({ fetch, userAgent: "test" }),
      apiEndpoint: url,
      now: Date.now,
    });
    await assert.rejects(refresher.refresh(geminiAccount()), (error: unknown) => {
      assert.ok(error instanceof UpstreamError);
      assert.equal(error.kind, "transient");
      assert.match(error.message, new RegExp(`redirected to ${host}`));
      return true;
    });
  });
  assert.equal(hits, 0, "the redirect target received nothing");
});
