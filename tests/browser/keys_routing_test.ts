import assert from "node:assert/strict";
import { fakeOpenAI } from "../_helpers/pool_helpers.ts";
import { haveChromium, setUpAndSignIn, withBrowser } from "./_browser.ts";

const ignore = !haveChromium();

Deno.test(
  { name: "browser: the first client key is created only after a warning; limits; revoke", ignore },
  async () => {
    const upstream = fakeOpenAI();
    try {
      await withBrowser({}, async (run) => {
        const { page } = run;
        await setUpAndSignIn(run);
        await run.t.store.accounts.create({
          type: "custom_api",
          label: "custom-upstream",
          clientSecret: "sk-up",
          other: { api_base: `${upstream.url}/v1`, format: "openai", model: "gpt-x" },
        });
        await page.click("#tabs button[data-tab=keys]");
        await page.waitForSelector("#key-first-warning:not(.hidden)");
        assert.match(await page.textContent("#key-first-warning") ?? "", /127\.0\.0\.1/);
        await run.shoot("keys-empty");

        // Declining the warning creates nothing.
        const dialogs: string[] = [];
        page.once("dialog", (dialog) => {
          dialogs.push(dialog.message());
          dialog.dismiss();
        });
        await page.fill("#key-label", "laptop");
        await page.click("#key-create");
        await page.waitForFunction(() => true);
        assert.equal(dialogs.length, 1);
        assert.match(dialogs[0]!, /first client key.*127\.0\.0\.1/s);
        assert.equal((await run.t.store.clientKeys.list()).length, 0);

        page.once("dialog", (dialog) => dialog.accept());
        await page.click("#key-create");
        await page.waitForSelector("#key-new:not(.hidden)");
        const laptopKey = await page.textContent("#key-new-value") ?? "";
        assert.match(laptopKey, /^\S{20,}$/);
        assert.equal((await run.t.store.clientKeys.list()).length, 1);
        await page.waitForSelector("#key-first-warning.hidden", { state: "attached" });
        await page.locator("#key-list tr", { hasText: "laptop" }).waitFor();
        await run.shoot("keys-created");

        // A second key needs no warning.
        let warned = false;
        page.once("dialog", (dialog) => {
          warned = true;
          dialog.dismiss();
        });
        await page.fill("#key-label", "ci");
        await page.click("#key-create");
        await page.locator("#key-list tr", { hasText: "ci" }).waitFor();
        assert.equal(warned, false);
        page.removeAllListeners("dialog");

        // Limits: edited in the key's form, saved, and shown in the list.
        const laptop = page.locator("#key-list tr", { hasText: "laptop" });
        await laptop.locator("button", { hasText: "Limits" }).click();
        await page.fill("#key-list form [name=requests_per_minute]", "30");
        await page.fill("#key-list form [name=tokens_per_day]", "1000");
        await page.fill("#key-list form [name=cost_per_day_usd]", "2.5");
        await page.click("#key-list form button[type=submit]");
        await page.locator("#key-msg.ok", { hasText: "Saved laptop" }).waitFor();
        await page.locator("#key-list tr", { hasText: "Requests per minute: 30" }).waitFor();
        const record = (await run.t.store.clientKeys.listRecords()).find((k) => k.label === "laptop")!;
        assert.equal(record.requests_per_minute, 30);
        assert.equal(record.tokens_per_day, 1000);
        assert.equal(record.cost_per_day_micros, 2_500_000);

        // Usage and what is left: a request with the key, then the list (refreshing itself) shows both.
        const response = await fetch(`${run.url}/v1/messages`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": laptopKey },
          body: JSON.stringify({
            model: "gpt-x",
            max_tokens: 20,
            messages: [{ role: "user", content: "hi" }],
          }),
        });
        await response.body?.cancel();
        assert.equal(response.status, 200);
        await page.goto(`${run.url}/admin?refresh=1#keys`);
        const tokens = page.locator("#key-list tr", { hasText: "laptop" }).locator(".budget", {
          hasText: /^Tokens per day: 1,000 · used [1-9]\d*, [\d,]+ left$/,
        });
        await tokens.waitFor();
        const [, used, left] = /used (\d+), ([\d,]+) left/.exec(await tokens.textContent() ?? "")!;
        assert.equal(Number(used) + Number(left!.replace(",", "")), 1000);
        await page.locator("#key-list tr", { hasText: "laptop" }).locator(".budget", {
          hasText: /^Requests per minute: 30 · used 1, 29 left$/,
        }).waitFor();
        await run.shoot("keys-limits");

        page.once("dialog", (dialog) => dialog.accept());
        await page.locator("#key-list tr", { hasText: "ci" }).locator("button", { hasText: "Revoke" })
          .click();
        await page.locator("#key-msg", { hasText: "Key revoked." }).waitFor();
        assert.equal((await run.t.store.clientKeys.list()).length, 1);
      });
    } finally {
      await upstream.close();
    }
  },
);

Deno.test(
  { name: "browser: saving an invalid routing configuration shows the server's error", ignore },
  async () => {
    await withBrowser({}, async (run) => {
      const { page } = run;
      await setUpAndSignIn(run);
      await page.click("#tabs button[data-tab=config]");
      // A function, not a string: the page's CSP forbids evaluating strings, which polling would need.
      await page.waitForFunction(() => {
        const doc = (globalThis as unknown as { document: { getElementById(id: string): { value: string } } })
          .document;
        return doc.getElementById("config-data").value.length > 2;
      });
      const before = JSON.parse(await page.inputValue("#config-data"));
      // Not JSON at all: said before anything is sent.
      await page.fill("#config-data", "{ not json");
      await page.click("#config-save");
      await page.locator("#config-msg.error", { hasText: "Not valid JSON" }).waitFor();
      // JSON the server refuses: its validation message is shown and nothing is stored.
      run.expectFailure("/v2/config", 400);
      const firstKey = Object.keys(before)[0]!;
      await page.fill("#config-data", JSON.stringify({ [firstKey]: { "not": ["a", "valid", "value"] } }));
      await page.click("#config-save");
      await page.locator("#config-msg.error").waitFor();
      assert.match(await page.textContent("#config-msg") ?? "", new RegExp(firstKey));
      await run.shoot("routing-error");
      const after = await (await run.t.request("/v2/config", {
        headers: { cookie: (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join("; ") },
      })).json();
      assert.deepEqual(after, before);
    });
  },
);
