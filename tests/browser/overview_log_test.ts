import assert from "node:assert/strict";
import { failingOnCue, haveChromium, sendMessage, setUpAndSignIn, withBrowser } from "./_browser.ts";

const ignore = !haveChromium();

Deno.test(
  { name: "browser: the overview and the request log show requests just sent, live", ignore },
  async () => {
    // Answers with a stream, except a prompt saying "fail-me", which gets a 500 like a broken upstream.
    const upstream = failingOnCue();
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
        assert.equal(await sendMessage(url, "hello"), 200);
        assert.equal(await sendMessage(url, "hello again"), 200);
        // The page is not reloaded: the live refresh brings the new totals in.
        await page.locator("#ov-requests .v", { hasText: /^2$/ }).waitFor();
        await page.locator("#ov-pool td", { hasText: "custom_api" }).waitFor();
        // The charts come from this server's series API (no stand-in here).
        await page.locator("#ov-charts .uplot").first().waitFor();
        assert.equal(await page.locator("#ov-charts-unavailable").count(), 0);
        await run.shoot("overview-data");

        run.expectFailure("/v1/messages", 500);
        assert.ok((await sendMessage(url, "fail-me")) >= 500);
        // The overview counts the failure live too.
        await page.locator(".stat", { hasText: "Errors" }).locator(".v", { hasText: /^1$/ }).waitFor();
        await page.locator("#ov-requests .v", { hasText: /^3$/ }).waitFor();

        await page.click("#tabs button[data-tab=log]");
        await page.locator("#log-list tr.clickable").nth(2).waitFor();
        assert.equal(await page.locator("#log-outcome[disabled]").count(), 0);
        await page.selectOption("#log-outcome", "failed");
        assert.equal(await page.locator("#log-list tr.clickable").count(), 1);
        await page.locator("#log-list tr.failed").click();
        const field = (title: string) =>
          page.locator(`#log-detail dt:text-is("${title}") + dd`).textContent();
        assert.equal(await field("Outcome"), "transient");
        // The error's own words, as the server recorded them from the upstream's 500 answer.
        assert.equal(await field("Error"), "upstream exploded");
        assert.match(await field("Account") ?? "", /^custom-upstream \(/);
        assert.equal(await field("Model"), "gpt-x");
        assert.match(await field("Duration") ?? "", /^\d[\d,]* ms$/);
        // Other filters: the successes of this account, and none for another channel or an old window.
        await page.selectOption("#log-outcome", "success");
        assert.equal(await page.locator("#log-list tr.clickable").count(), 2);
        await page.selectOption("#log-outcome", "");
        await page.fill("#log-model", "no-such-model");
        await page.locator("#log-list td", { hasText: "No request matches." }).waitFor();
        await page.fill("#log-model", "");
        await page.locator("#log-list tr.failed").click();
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

Deno.test({
  name: "browser: the overview draws its charts from the usage series API, light and dark",
  ignore,
}, async () => {
  await withBrowser({}, async (run) => {
    const { page } = run;
    await setUpAndSignIn(run);
    // The series API's answer as the accounting store returns it (rows per hour and group); served here
    // by the browser so the charts are exercised whether or not this server has the route yet.
    const hour = 3600_000;
    const now = Math.floor(Date.now() / hour) * hour;
    const rows = [0, 1, 2, 5].flatMap((ago) =>
      ["claude-sonnet-4-5", "gemini-2.5-pro"].map((group, g) => ({
        t: now - ago * hour,
        group,
        requests: 10 + ago + g,
        input_tokens: 1000 * (ago + 1),
        output_tokens: 200 * (ago + 1),
        cache_creation_input_tokens: 50,
        cache_read_input_tokens: 400,
        cost_usd: 0.01 * (ago + 1),
        unpriced_requests: 0,
        errors: ago === 2 ? { throttled: 2, transient: 1 } : {},
        ttfb_p50_ms: 300 + ago,
        ttfb_p95_ms: 900 + ago,
      }))
    );
    const seen: string[] = [];
    await page.route("**/v2/usage/series?*", (route) => {
      seen.push(route.request().url());
      return route.fulfill({ json: { bucket: "hour", rows } });
    });
    await page.click("#tabs button[data-tab=accounts]");
    await page.click("#tabs button[data-tab=overview]");
    await page.locator("#ov-charts .uplot").nth(4).waitFor();
    assert.equal(await page.locator("#ov-charts .chart").count(), 5);
    const query = new URL(seen.at(-1)!).searchParams;
    assert.equal(query.get("bucket"), "hour");
    assert.equal(query.get("group_by"), "model");
    assert.ok(Number(query.get("to")) - Number(query.get("from")) === 24 * hour);
    const legend = await page.textContent("#ov-charts .chart:first-child .u-legend") ?? "";
    assert.match(legend, /claude-sonnet-4-5/);
    assert.match(legend, /gemini-2\.5-pro/);
    await run.shoot("overview-charts");
    await page.emulateMedia({ colorScheme: "dark" });
    await page.locator("#ov-charts .uplot").nth(4).waitFor();
    await run.shoot("overview-charts-dark");
    // Another split and range ask the API again.
    await page.selectOption("#ov-group", "channel");
    await page.click("#ov-ranges button[data-range='7d']");
    // A function, not a string: the page's CSP forbids evaluating strings, which polling would need.
    await page.waitForFunction(() =>
      (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document
        .querySelectorAll("#ov-charts .uplot").length === 5
    );
    const last = new URL(seen.at(-1)!).searchParams;
    assert.equal(last.get("bucket"), "day");
    assert.equal(last.get("group_by"), "channel");
  });
});
