import assert from "node:assert/strict";
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
      }
    });
  },
);
