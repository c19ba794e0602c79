import assert from "node:assert/strict";
import { haveChromium, setUpAndSignIn, withBrowser } from "./_browser.ts";

const ignore = !haveChromium();

Deno.test({ name: "browser: first-run setup, sign in, log out, wrong password", ignore }, async () => {
  await withBrowser({}, async (run) => {
    const { page, url } = run;
    await page.goto(`${url}/admin`);
    await page.waitForSelector("#setup-screen:not(.hidden)");
    // Nothing typed yet: a required field looks like any valid field, not like an error.
    const border = (id: string) =>
      page.evaluate<string>(`getComputedStyle(document.querySelector("${id}")).borderColor`);
    const untouched = await border("#setup-username");
    await page.fill("#setup-username", "admin");
    assert.equal(untouched, await border("#setup-username"));
    await page.fill("#setup-username", "");
    await run.shoot("setup");
    await setUpAndSignIn(run);
    await run.shoot("accounts-empty");
    await page.click("#logout");
    await page.waitForSelector("#login-screen:not(.hidden)");
    await page.fill("#login-username", "admin");
    run.expectFailure("/api/admin/login", 401);
    await page.fill("#login-password", "wrong-password");
    await page.click("#login-form button[type=submit]");
    await page.waitForSelector("#login-msg.error");
    assert.match(await page.textContent("#login-msg") ?? "", /password|invalid|incorrect/i);
    await run.shoot("login-error");
  });
});
