import assert from "node:assert/strict";
import { fakeOpenAI, openAIFailure } from "../accounts/_pool_helpers.ts";
import { haveChromium, setUpAndSignIn, withBrowser } from "./_browser.ts";

const ignore = !haveChromium();

/** Sends one Messages request as a key-less loopback client (no key exists yet). */
async function ask(url: string, text: string): Promise<number> {
  const response = await fetch(`${url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-x", max_tokens: 20, messages: [{ role: "user", content: text }] }),
  });
  await response.body?.cancel();
  return response.status;
}

Deno.test(
  { name: "browser: the overview and the request log show requests just sent, live", ignore },
  async () => {
    // Answers with a stream, except a prompt saying "fail-me", which gets a 500 like a broken upstream.
    const upstream = fakeOpenAI((seen) =>
      JSON.stringify(seen.body.messages).includes("fail-me")
        ? openAIFailure(500, "upstream exploded")
        : undefined
    );
    try {
      await withBrowser({}, async (run) => {
        const { page, url, t } = run;
        await setUpAndSignIn(run);
        await t.store.accounts.create({
          type: "custom_api",
          label: "custom-upstream",
          clientSecret: "sk-up",
          other: { api_base: `${upstream.url}/v1`, format: "openai", model: "gpt-x" },
        });
        // Live refresh every second, so the test does not wait for the default period.
        await page.goto(`${url}/admin?refresh=1#overview`);
        await page.locator("#ov-requests .v", { hasText: /^0$/ }).waitFor();
        assert.equal(await ask(url, "hello"), 200);
        assert.equal(await ask(url, "hello again"), 200);
        // The page is not reloaded: the live refresh brings the new totals in.
        await page.locator("#ov-requests .v", { hasText: /^2$/ }).waitFor();
        await page.locator("#ov-pool td", { hasText: "custom_api" }).waitFor();
        const chartsMissing = await page.locator("#ov-charts-unavailable").count();
        if (chartsMissing === 0) await page.locator("#ov-charts .uplot").first().waitFor();
        await run.shoot("overview-data");

        run.expectFailure("/v1/messages", 500);
        assert.ok((await ask(url, "fail-me")) >= 500);
        await page.click("#tabs button[data-tab=log]");
        await page.locator("#log-list tr.clickable").first().waitFor();
        const recordsFailures = await page.locator("#log-outcome:not([disabled])").count() === 1;
        if (recordsFailures) {
          await page.selectOption("#log-outcome", "failed");
          await page.locator("#log-list tr.failed").first().click();
          await page.locator("#log-detail dd", { hasText: /transient|error|5\d\d/ }).first().waitFor();
        } else {
          // This server does not record failures yet: the log says so, and shows the successful requests.
          assert.match(await page.textContent("#log-count") ?? "", /does not record failed requests yet/);
          assert.equal(await page.locator("#log-list tr.clickable").count(), 2);
          await page.locator("#log-list tr.clickable").first().click();
          await page.locator("#log-detail dd", { hasText: "gpt-x" }).first().waitFor();
        }
        await run.shoot("request-log");
      });
    } finally {
      await upstream.close();
    }
  },
);

Deno.test(
  { name: "browser: /donate shows donated accounts only, without admin labels", ignore },
  async () => {
    await withBrowser({}, async (run) => {
      const { page, url, t } = run;
      await t.store.accounts.create({
        type: "gemini",
        label: "ops-private-label",
        refreshToken: "1//admin-added",
        other: { email: "admin@example.com" },
      });
      await t.store.accounts.create({
        type: "gemini",
        label: "Gemini-20250601-120000",
        refreshToken: "1//donated",
        other: { email: "donor@example.com", donated: true, project: "proj-donated-1" },
      });
      // Donations are not configured on this server: the sign-in button says so when used.
      run.expectFailure("/api/gemini/oauth-config", 503);
      await page.goto(`${url}/donate`);
      await page.locator("#cards .card").first().waitFor();
      assert.equal(await page.locator("#cards .card").count(), 1);
      const text = await page.textContent("body") ?? "";
      assert.match(text, /do\*\*\*@example\.com/);
      assert.doesNotMatch(text, /ops-private-label|Gemini-2025|admin@example/);
      await run.shoot("donate");
    });
  },
);
