import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { haveChromium, setUpAndSignIn, withBrowser } from "./_browser.ts";

const ignore = !haveChromium();

Deno.test(
  { name: "browser: the overview shows the checklist and every tab opens without errors", ignore },
  async () => {
    await withBrowser({}, async (run) => {
      const { page, url } = run;
      await setUpAndSignIn(run);
      await page.waitForSelector("#ov-guide .checklist");
      // The Claude Code snippet names this server; only the admin step is done.
      assert.match(await page.textContent("#ov-snippet") ?? "", new RegExp(`^ANTHROPIC_BASE_URL=${url} `));
      assert.equal(await page.locator("#ov-guide li.done").count(), 1);
      assert.equal(await page.locator("#ov-guide li.todo").count(), 2);
      // Copyable: the button puts exactly the snippet on the clipboard.
      await run.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: url });
      await page.locator("#ov-guide button", { hasText: "Copy" }).click();
      await page.locator("#ov-guide button", { hasText: "Copied" }).waitFor();
      assert.equal(
        await page.evaluate<string>("navigator.clipboard.readText()"),
        await page.textContent("#ov-snippet"),
      );
      await run.shoot("overview-empty");
      // Google sign-in for the admin's own Gemini account: this server has no OAuth client configured.
      run.expectFailure("/api/gemini/oauth-config", 503);
      await page.click("#tabs button[data-tab=add]");
      await page.selectOption("#add-type", "gemini");
      await page.click("#gemini-signin");
      await page.locator("#gemini-msg.error", { hasText: "not configured" }).waitFor();
      for (const tab of ["accounts", "add", "device", "keys", "log", "config", "transfer"]) {
        await page.click(`#tabs button[data-tab=${tab}]`);
        await page.waitForSelector(`[data-tab=${tab}]:not(.hidden)`);
        await run.shoot(`tab-${tab}`);
        if (tab === "device") {
          // The device login says what will happen before it starts.
          assert.match(
            await page.textContent("[data-tab=device] .panel p") ?? "",
            /Builder ID.*one-time code/s,
          );
        }
      }
    });
  },
);

Deno.test(
  { name: "browser: live refresh makes no request while the tab is hidden and resumes when visible", ignore },
  async () => {
    await withBrowser({}, async (run) => {
      const { page, url, t } = run;
      // Counts the runs of the console's live-refresh timer, so the test waits for the timer itself rather
      // than for a length of time.
      await page.addInitScript(`{
        const original = window.setInterval;
        window.__liveTicks = 0;
        window.setInterval = function (fn, ms, ...rest) {
          if (typeof fn === "function" && fn.name === "liveRefresh") {
            const counted = function (...args) { window.__liveTicks++; return fn.apply(this, args); };
            return original.call(this, counted, ms, ...rest);
          }
          return original.call(this, fn, ms, ...rest);
        };
      }`);
      await setUpAndSignIn(run);
      await t.store.accounts.create({ type: "gemini", label: "g-live", refreshToken: "1//live" });
      const polled: string[] = [];
      page.on("request", (request) => {
        const path = new URL(request.url()).pathname;
        if (/^\/(v1|v2|api)\/|^\/ready$/.test(path)) polled.push(path);
      });
      await page.goto(`${url}/admin?refresh=1#accounts`);
      await rowVisible(page, "g-live");
      const ticks = () => page.evaluate<number>("window.__liveTicks");
      // Visible: the timer's runs fetch the accounts again.
      polled.length = 0;
      const visibleFrom = await ticks();
      await ticksReach(page, visibleFrom + 1);
      assert.ok(polled.filter((p) => p === "/v2/accounts").length >= 1, polled.join(" "));

      await setVisibility(page, "hidden");
      polled.length = 0;
      const hiddenFrom = await ticks();
      await ticksReach(page, hiddenFrom + 2);
      assert.equal(polled.length, 0, `requests while hidden: ${polled.join(" ")}`);

      // Visible again: a refresh at once (no wait for the next period), then the timer's as before.
      const resumed = page.waitForRequest((r) => new URL(r.url()).pathname === "/v2/accounts");
      await setVisibility(page, "visible");
      await resumed;
      await ticksReach(page, (await ticks()) + 1);
      assert.ok(polled.includes("/v2/accounts/activity"), polled.join(" "));
      await run.shoot("accounts-live");
    });
  },
);

/** Waits for the live-refresh timer to have run `n` times in all (a function: the page's CSP forbids eval). */
async function ticksReach(page: Page, n: number): Promise<void> {
  await page.waitForFunction(
    (target) => (globalThis as unknown as { __liveTicks: number }).__liveTicks >= target,
    n,
  );
}

async function rowVisible(page: Page, label: string): Promise<void> {
  await page.locator("#acc-table tr.account-row", { hasText: label }).waitFor();
}

/** Makes the page believe the tab was hidden or shown, as the browser tells it when the user switches tabs. */
async function setVisibility(page: Page, state: "hidden" | "visible"): Promise<void> {
  await page.evaluate(`{
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "${state}" });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => ${state === "hidden"} });
    document.dispatchEvent(new Event("visibilitychange"));
  }`);
}
