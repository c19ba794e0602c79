/**
 * Drives Debian's Chromium (`/usr/bin/chromium`, never a downloaded browser) with playwright-core against
 * the real app served on 127.0.0.1:0. Every page error and console error fails the test, failed loads
 * ("Failed to load resource") included, except the console's session probe (401/403 before sign-in), `/ready`'s
 * 503 while no account is usable, and the error answers a test provokes and declares (`expectFailure`).
 * `shoot()` saves a screenshot at 1280 and 390 px wide and asserts nothing overflows horizontally at 390 px:
 * neither the page nor any box that scrolls or clips its content sideways; and no word is split over two lines.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { makeTestApp, serveTestApp, type TestApp, type TestAppOptions } from "../_helpers/test_app.ts";
import { fakeOpenAI, openAIFailure } from "../_helpers/pool_helpers.ts";

export const CHROMIUM = "/usr/bin/chromium";
export const SCREENSHOT_DIR = fileURLToPath(new URL("./screenshots", import.meta.url));

/** True when Chromium is installed; the browser tests are ignored otherwise. */
export function haveChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

export interface BrowserRun {
  t: TestApp;
  url: string;
  page: Page;
  context: BrowserContext;
  /** Errors seen so far (page errors, console errors); checked at the end of the run. */
  errors: string[];
  /** Marks an error answer the test provokes on purpose (path and status) as expected. */
  expectFailure(path: string, status: number): void;
  /** Saves `<name>-1280.png` and `<name>-390.png`; fails on horizontal overflow at 390 px. */
  shoot(name: string): Promise<void>;
}

/** Boxes shown at the moment whose content is wider than they are and which scroll or clip it sideways. */
const CLIPPED_BOXES = `[...document.querySelectorAll("body *")].filter((e) => {
  const x = getComputedStyle(e).overflowX;
  return (x === "auto" || x === "scroll" || x === "hidden") && e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1;
}).map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + String(e.className).split(" ").join(".") : "")
  + " " + e.scrollWidth + ">" + e.clientWidth)`;

/**
 * Words (whitespace-separated runs of 2 to 20 letters, so not keys, ids or URLs) whose characters lie on
 * more than one line, outside code, monospace text and charts.
 */
const SPLIT_WORDS = `(() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node && found.length < 10; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest("pre, code, textarea, select, .mono, .uplot, .hidden")) continue;
    for (const match of node.data.matchAll(/(?<=^|[\\s(])\\p{L}{2,20}(?=$|[\\s).,:;!?])/gu)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      if (tops.size > 1) found.push(match[0] + " in " + parent.tagName.toLowerCase() + "." + parent.className);
    }
  }
  return found;
})()`;

const API_LOAD_FAILURE = /^Failed to load resource: the server responded with a status of 4\d\d/;

/** Starts the app and a fresh browser, runs `fn`, then stops both and fails on any collected error. */
export async function withBrowser(
  options: TestAppOptions,
  fn: (run: BrowserRun) => Promise<void>,
): Promise<void> {
  const t = makeTestApp({ realClock: true, ...options });
  const server = serveTestApp(t);
  const userDataDir = await Deno.makeTempDir({ prefix: "amq2api-chromium-" });
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-gpu",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    viewport: { width: 1280, height: 900 },
  });
  const errors: string[] = [];
  const expected: Array<[string, number]> = [];
  try {
    const page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const where = message.location().url ?? "";
      const path = new URL(where || server.url).pathname;
      // Opening the console probes the session with the account list; without one that is a 401 or 403.
      if (
        path === "/v2/accounts" && API_LOAD_FAILURE.test(message.text()) && / 40[13] /.test(message.text())
      ) {
        return;
      }
      // `/ready` answers 503 while no account is usable; the console shows that state.
      if (path === "/ready" && / 503 /.test(message.text())) return;
      if (expected.some(([p, status]) => p === path && message.text().includes(` ${status} `))) return;
      errors.push(`console error: ${message.text()} (${where})`);
    });
    await Deno.mkdir(SCREENSHOT_DIR, { recursive: true });
    const shoot = async (name: string) => {
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: 900 });
        await page.evaluate("new Promise((r) => requestAnimationFrame(() => r(null)))");
        // Charts follow a width change after a short pause (their resize is debounced): let them settle,
        // for at most 3 s, before the picture and the checks.
        for (let i = 0; i < 30 && (await page.evaluate<string[]>(CLIPPED_BOXES)).length > 0; i++) {
          await new Promise((r) => setTimeout(r, 100));
        }
        await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-${width}.png`), fullPage: true });
        if (width === 390) {
          const overflow = await page.evaluate<{ scroll: number; inner: number }>(
            "({ scroll: document.documentElement.scrollWidth, inner: innerWidth })",
          );
          assert.ok(overflow.scroll <= overflow.inner, `${name}: ${overflow.scroll} px wide at 390 px`);
          // Nor is anything cut off inside a box that scrolls or clips sideways (a table's last column).
          const clipped = await page.evaluate<string[]>(CLIPPED_BOXES);
          assert.deepEqual(clipped, [], `${name}: content cut off at 390 px`);
          // Words are wrapped whole: a short word split over two lines ("boo" / "m") is a layout bug.
          const split = await page.evaluate<string[]>(SPLIT_WORDS);
          assert.deepEqual(split, [], `${name}: words split at 390 px`);
        }
      }
      await page.setViewportSize({ width: 1280, height: 900 });
    };
    const expectFailure = (path: string, status: number) => void expected.push([path, status]);
    await fn({ t, url: server.url, page, context, errors, shoot, expectFailure });
    assert.deepEqual(errors, [], "the page reported errors");
  } finally {
    await context.close();
    await server.stop();
    await t.close();
    await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
  }
}

/** Creates the admin and signs in through the console's own screens. */
export async function setUpAndSignIn(run: BrowserRun): Promise<void> {
  const { page, url } = run;
  await page.goto(`${url}/admin`);
  await page.fill("#setup-username", "admin");
  await page.fill("#setup-password", "correct-horse");
  await page.fill("#setup-confirm", "correct-horse");
  await page.click("#setup-form button[type=submit]");
  await page.waitForSelector("#login-screen:not(.hidden)");
  await page.fill("#login-password", "correct-horse");
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#console:not(.hidden)");
}

/**
 * One Messages request as a key-less loopback client; returns the status. A prompt saying "fail-me" is the
 * tests' way to make the fake upstream (`failingOnCue`) answer 500.
 */
export async function sendMessage(url: string, text: string): Promise<number> {
  const response = await fetch(`${url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-x", max_tokens: 20, messages: [{ role: "user", content: text }] }),
  });
  await response.body?.cancel();
  return response.status;
}

/** A fake OpenAI-format upstream that streams answers, except to a prompt saying "fail-me": a 500. */
export function failingOnCue(): ReturnType<typeof fakeOpenAI> {
  return fakeOpenAI((seen) =>
    JSON.stringify(seen.body.messages).includes("fail-me")
      ? openAIFailure(500, "upstream exploded")
      : undefined
  );
}
