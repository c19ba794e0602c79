import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { amazonQEnv, fakeAmazonQ, fakeOpenAI } from "../_helpers/pool_helpers.ts";
import { failingOnCue, haveChromium, sendMessage, setUpAndSignIn, withBrowser } from "./_browser.ts";

const ignore = !haveChromium();

/** A custom OpenAI-format upstream: JSON for the connection test, a stream for chat requests. */
function customUpstream() {
  return fakeOpenAI((seen) =>
    seen.body.stream === true ? undefined : Response.json({
      id: "c1",
      object: "chat.completion",
      created: 1,
      model: "gpt-x",
      choices: [{ index: 0, message: { role: "assistant", content: "pong" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
    })
  );
}

const rowOf = (page: Page, label: string) => page.locator("#acc-table tr.account-row", { hasText: label });

async function addAccount(page: Page, type: string, fields: Record<string, string>): Promise<string> {
  await page.click("#tabs button[data-tab=add]");
  await page.selectOption("#add-type", type);
  for (const [id, value] of Object.entries(fields)) await page.fill(`#${id}`, value);
  await page.evaluate(`document.getElementById("add-msg").className = "msg"`);
  await page.click("#add-form button[type=submit]");
  await page.locator("#add-msg.ok, #add-msg.error").waitFor();
  return await page.textContent("#add-msg") ?? "";
}

Deno.test(
  { name: "browser: add, edit, test, refresh, disable and delete accounts of each type", ignore },
  async () => {
    const custom = customUpstream();
    const amazonq = fakeAmazonQ();
    try {
      // Gemini's endpoints refuse connections (nothing listens on port 9): its tests fail at once, and no
      // request leaves the machine.
      const env = {
        ...amazonQEnv(amazonq),
        GEMINI_TOKEN_ENDPOINT: "http://127.0.0.1:9/token",
        GEMINI_API_ENDPOINT: "http://127.0.0.1:9",
      };
      await withBrowser({ env }, async (run) => {
        const { page } = run;
        page.on("dialog", (dialog) => dialog.accept());
        await setUpAndSignIn(run);
        await page.click("#tabs button[data-tab=add]");
        // The form's defaults are the API's: no hourly limit.
        assert.equal(await page.inputValue("#add-rate"), "0");

        // A validation error speaks the form's words, not the API's field names.
        run.expectFailure("/v2/accounts", 400);
        const missing = await addAccount(page, "custom_api", {
          "add-label": "custom-one",
          "add-api-key": "sk-up-1",
        });
        assert.match(missing, /API base URL/);
        assert.doesNotMatch(missing, /other\.api_base|clientSecret/);
        await run.shoot("add-error");
        const created = await addAccount(page, "custom_api", {
          "add-api-base": `${custom.url}/v1`,
          "add-model": "gpt-x",
        });
        assert.match(created, /Created custom-one/);
        assert.match(
          await addAccount(page, "amazonq", {
            "add-label": "q-one",
            "add-client-id": "cid-q",
            "add-client-secret": "cs-q",
            "add-refresh": "rt-q",
          }),
          /Created q-one/,
        );
        assert.match(
          await addAccount(page, "gemini", { "add-label": "g-one", "add-refresh": "rt-g" }),
          /Created g-one/,
        );
        const stored = await run.t.store.accounts.list();
        assert.deepEqual(stored.map((a) => a.rate_limit_per_hour), [0, 0, 0]);

        await page.click("#tabs button[data-tab=accounts]");
        await page.waitForSelector("#acc-table tr.account-row >> nth=2");
        await run.shoot("accounts-three");

        // The enabled switch reads "off" once switched off, and the row shows the new state.
        const gemini = rowOf(page, "g-one");
        assert.equal(await gemini.locator(".switch span").textContent(), "on");
        await gemini.locator(".switch input").click();
        await rowOf(page, "g-one").locator(".switch span", { hasText: "off" }).waitFor();
        assert.equal(await rowOf(page, "g-one").locator(".chip.disabled").textContent(), "disabled");

        // Test: the reply shows and "Last used" changes without a reload.
        const customRow = rowOf(page, "custom-one");
        assert.equal((await customRow.locator("td.last-used").textContent())?.startsWith("–"), true);
        await customRow.locator("button", { hasText: "Test" }).click();
        await page.waitForSelector("#acc-table .msg.ok");
        assert.match(await rowOf(page, "custom-one").locator(".msg").textContent() ?? "", /OK \(200\): pong/);
        assert.doesNotMatch(
          await rowOf(page, "custom-one").locator("td.last-used").textContent() ?? "",
          /^–/,
        );

        // Refresh token: the row shows the new refresh at once.
        const qRow = rowOf(page, "q-one");
        assert.match(await qRow.locator("td.last-used").textContent() ?? "", /never refreshed|token –|· –/);
        await qRow.locator("button", { hasText: "Refresh token" }).click();
        await rowOf(page, "q-one").locator("td.last-used", {
          hasText: /token success · (just now|\d+ s ago)/,
        }).waitFor();
        assert.equal(amazonq.refreshes.length, 1);

        // Edit: a bad value is reported with the form's label; a good one is saved and shown.
        run.expectFailure(
          `/v2/accounts/${(await run.t.store.accounts.list()).find((a) => a.type === "custom_api")!.id}`,
          400,
        );
        await rowOf(page, "custom-one").locator("button", { hasText: "Edit" }).click();
        const form = page.locator("tr.edit-row form");
        await form.locator("[name=label]").fill("custom-renamed");
        await form.locator("[name='other.api_base']").fill("ftp://nowhere");
        await form.locator("button[type=submit]").click();
        await form.locator(".msg.error").waitFor();
        assert.match(
          await form.locator(".msg.error").textContent() ?? "",
          /^API base URL: must be an http\(s\) URL/,
        );
        await run.shoot("account-edit-error");
        await form.locator("[name='other.api_base']").fill(`${custom.url}/v1`);
        await form.locator("[name=clientSecret]").fill("sk-up-2");
        await form.locator("button[type=submit]").click();
        await page.waitForSelector("#acc-msg.ok");
        assert.match(await page.textContent("#acc-msg") ?? "", /Saved custom-one/);
        const renamed = (await run.t.store.accounts.list()).find((a) => a.type === "custom_api")!;
        assert.equal(renamed.label, "custom-renamed");
        assert.equal(renamed.clientSecret, "sk-up-2");
        assert.equal(renamed.other.api_base, `${custom.url}/v1`);
        await rowOf(page, "custom-renamed").waitFor();

        // Amazon Q and Gemini edits: typed secrets replace the stored ones, untouched ones stay.
        const editOf = async (label: string) => {
          await rowOf(page, label).locator("button", { hasText: "Edit" }).click();
          return page.locator("tr.edit-row form");
        };
        const qForm = await editOf("q-one");
        assert.equal(await qForm.locator("[name=clientSecret]").inputValue(), "");
        await qForm.locator("[name=clientId]").fill("cid-q2");
        await qForm.locator("[name=refreshToken]").fill("rt-q2");
        await qForm.locator("button[type=submit]").click();
        await page.locator("#acc-msg.ok", { hasText: "Saved q-one" }).waitFor();
        const gForm = await editOf("g-one");
        await gForm.locator("[name='other.project']").fill("proj-g");
        await gForm.locator("[name=proxy]").fill("socks5://127.0.0.1:1080");
        await gForm.locator("button[type=submit]").click();
        await page.locator("#acc-msg.ok", { hasText: "Saved g-one" }).waitFor();
        const byType = async (type: string) =>
          (await run.t.store.accounts.list()).find((a) => a.type === type)!;
        const q = await byType("amazonq");
        assert.deepEqual([q.clientId, q.clientSecret, q.refreshToken], ["cid-q2", "cs-q", "rt-q2"]);
        assert.equal((await byType("gemini")).other.project, "proj-g");
        assert.equal((await byType("gemini")).other.proxy, "socks5://127.0.0.1:1080");

        // What the upstream reports and the pool's own state: a cooldown counting down (and cleared by
        // hand), Amazon Q's allowance, Gemini's quota, each with its reset.
        const custom1 = await byType("custom_api");
        await run.t.store.accounts.update(custom1.id, { cooldown_until: Date.now() + 90_000 });
        await run.t.store.accounts.update(q.id, {
          other: {
            ...q.other,
            allowance: {
              limit: 500,
              used: 380,
              remaining: 120,
              resets_at: new Date(Date.now() + 3 * 86_400_000 + 60_000).toISOString(),
            },
          },
        });
        const g = await byType("gemini");
        await run.t.store.accounts.update(g.id, {
          other: {
            ...g.other,
            quota: {
              "gemini-2.5-pro": {
                remainingFraction: 0.42,
                resetTime: new Date(Date.now() + 2 * 3_600_000 + 60_000).toISOString(),
              },
              "gemini-2.5-flash": { remainingFraction: 0.9, resetTime: null },
            },
          },
        });
        await page.click("#acc-reload");
        await rowOf(page, "custom-renamed").locator(".chip.cooldown").waitFor();
        assert.match(
          await rowOf(page, "custom-renamed").locator("[data-until]").textContent() ?? "",
          /^ends in 1 min \d+ s$/,
        );
        assert.match(
          await rowOf(page, "q-one").textContent() ?? "",
          /allowance 120 of 500 left · resets in 3 d 0 h/,
        );
        assert.match(
          await rowOf(page, "g-one").textContent() ?? "",
          /quota left ≥ 42 % · resets in 2 h [01] min/,
        );
        await run.shoot("accounts-states");
        await rowOf(page, "custom-renamed").locator("button", { hasText: "Clear cooldown" }).click();
        await rowOf(page, "custom-renamed").locator(".chip.active").waitFor();
        assert.equal((await byType("custom_api")).cooldown_until, null);

        // A later failure does not sit under the earlier "Saved" banner (the Gemini account has no upstream).
        run.expectFailure("/v1/messages", 502);
        await rowOf(page, "g-one").locator("button", { hasText: "Test" }).click();
        await page.waitForSelector("#acc-table .msg.error");
        assert.equal(await page.textContent("#acc-msg"), "");
        // The failed request shows beside the last error, with its time.
        await rowOf(page, "g-one").locator("td.last-error .failed-at", {
          hasText: /^last failed request (just now|\d+ s ago)$/,
        })
          .waitFor();

        // Bulk: select all, disable, enable.
        await page.check("#acc-table thead input[type=checkbox]");
        await page.click("#acc-bulk-disable");
        await page.waitForSelector("#acc-msg.ok");
        assert.match(await page.textContent("#acc-msg") ?? "", /Disabled 3 of 3/);
        assert.equal((await run.t.store.accounts.list()).filter((a) => a.enabled).length, 0);
        await page.click("#acc-bulk-enable");
        await page.locator("#acc-msg", { hasText: /Enabled 3 of 3/ }).waitFor();
        assert.equal((await run.t.store.accounts.list()).filter((a) => a.enabled).length, 3);
        // Bulk test: each selected account is tried; the failures are listed by name.
        await page.check("#acc-table thead input[type=checkbox]");
        await page.click("#acc-bulk-test");
        await page.locator("#acc-msg", { hasText: /Tested OK \d of 3/ }).waitFor();
        const tested = await page.textContent("#acc-msg") ?? "";
        assert.match(tested, /^Tested OK 2 of 3\.\ng-one: /);
        await run.shoot("accounts-bulk");

        // Delete one from its row, then the rest in bulk.
        await rowOf(page, "q-one").locator("button", { hasText: "Delete" }).click();
        await page.locator("#acc-msg", { hasText: /Deleted q-one/ }).waitFor();
        assert.equal((await run.t.store.accounts.list()).length, 2);
        await page.check("#acc-table thead input[type=checkbox]");
        await page.click("#acc-bulk-delete");
        await page.locator("#acc-msg", { hasText: /Deleted 2 of 2/ }).waitFor();
        assert.equal((await run.t.store.accounts.list()).length, 0);
        await run.shoot("accounts-deleted");
      });
    } finally {
      await custom.close();
      await amazonq.close();
    }
  },
);

Deno.test(
  { name: "browser: the accounts table shows success rates and today's requests, sortable", ignore },
  async () => {
    // Answers with a stream, except a prompt saying "fail-me", which gets a 500 like a broken upstream.
    const upstream = failingOnCue();
    try {
      await withBrowser({}, async (run) => {
        const { page, url, t } = run;
        await setUpAndSignIn(run);
        const flaky = await t.store.accounts.create({
          type: "custom_api",
          label: "flaky",
          clientSecret: "sk-up",
          other: { api_base: `${upstream.url}/v1`, format: "openai", model: "gpt-x" },
        });
        assert.equal(await sendMessage(url, "hello"), 200);
        run.expectFailure("/v1/messages", 500);
        assert.ok(await sendMessage(url, "fail-me") >= 500);
        // A second account whose requests all succeeded (recorded directly: the pool would pick either).
        const steady = await t.store.accounts.create({
          type: "custom_api",
          label: "steady",
          clientSecret: "sk-up-2",
          other: { api_base: `${upstream.url}/v1`, format: "openai", model: "gpt-x" },
        });
        for (let i = 0; i < 3; i++) {
          await t.store.usage.record({
            account_id: steady.id,
            model: "gpt-x",
            channel: "custom_api",
            input_tokens: 1,
            output_tokens: 1,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            created_at: Date.now() - (i + 1) * 60_000,
            outcome: "success",
          });
        }
        await page.click("#tabs button[data-tab=accounts]");
        const flakyRow = rowOf(page, "flaky");
        await flakyRow.locator("td.success", { hasText: "50.0 % / 50.0 %" }).waitFor();
        assert.equal(await flakyRow.locator("td.today").textContent(), "2");
        assert.match(await flakyRow.locator("td.success").textContent() ?? "", /1 failed in 24 h/);
        assert.equal(await flakyRow.locator("td.success .rate-bad").count(), 2);
        const steadyRow = rowOf(page, "steady");
        assert.match(await steadyRow.locator("td.success").textContent() ?? "", /^100 % \/ 100 %$/);
        assert.equal(await steadyRow.locator("td.today").textContent(), "3");
        assert.ok(flaky.id !== steady.id);
        await run.shoot("accounts-activity");

        // Sortable like the other columns: worst success rate first, then best first; busiest today first.
        const order = async () =>
          await page.locator("#acc-table tr.account-row .account-name").allTextContents();
        await page.locator("#acc-table th", { hasText: "Success" }).click();
        assert.deepEqual(await order(), ["flaky", "steady"]);
        await page.locator("#acc-table th", { hasText: "Success" }).click();
        assert.deepEqual(await order(), ["steady", "flaky"]);
        await page.locator("#acc-table th", { hasText: "Today" }).click();
        assert.deepEqual(await order(), ["flaky", "steady"]);
        await page.locator("#acc-table th", { hasText: "Today" }).click();
        assert.deepEqual(await order(), ["steady", "flaky"]);
      });
    } finally {
      await upstream.close();
    }
  },
);
