import assert from "node:assert/strict";
import { makeTestApp } from "../_helpers/test_app.ts";

const PAGES = ["/admin", "/dashboard", "/donate", "/oauth-callback-page"];

/** The scripts and styles a page links to (same-origin paths). */
function assetsOf(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="(\/static\/[^"]+)"/g)].map((m) => m[1]!);
}

Deno.test("every page is served with a strict CSP: scripts and styles from this origin only", async () => {
  const t = makeTestApp();
  try {
    for (const path of PAGES) {
      const response = await t.request(path);
      assert.equal(response.status, 200, path);
      assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
      const csp = response.headers.get("content-security-policy") ?? "";
      assert.match(csp, /script-src 'self'(;|$)/, path);
      assert.match(csp, /style-src 'self'(;|$)/, path);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(csp.includes("unsafe"), false, `${path}: ${csp}`);
      assert.equal(response.headers.get("x-frame-options"), "DENY");
      assert.equal(response.headers.get("referrer-policy"), "no-referrer");
      assert.equal(response.headers.get("x-content-type-options"), "nosniff");
      const html = await response.text();
      assert.match(html, /^<!doctype html>/i);
      // Inline code and inline style would be refused by the CSP: the page must not rely on any.
      assert.equal(/<script(?![^>]*\ssrc=)[^>]*>/i.test(html), false, `${path} has an inline script`);
      assert.equal(/<style|\sstyle=|\son[a-z]+=/i.test(html), false, `${path} has inline style or handlers`);
      for (const asset of assetsOf(html)) {
        const file = await t.request(asset);
        assert.equal(file.status, 200, asset);
        assert.match(file.headers.get("content-type") ?? "", /^text\/(javascript|css)/, asset);
        assert.ok(file.headers.get("etag"), asset);
        await file.body?.cancel();
      }
    }
    const callback = await t.request("/oauth-callback-page?code=secret-code");
    assert.equal(callback.headers.get("cache-control"), "no-store");
    await callback.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("a page or asset not changed since the browser's copy answers 304", async () => {
  const t = makeTestApp();
  try {
    for (const path of ["/admin", "/static/js/dom.js", "/static/css/console.css"]) {
      const first = await t.request(path);
      const etag = first.headers.get("etag");
      assert.ok(etag, path);
      assert.match(first.headers.get("cache-control") ?? "", /no-cache/);
      await first.body?.cancel();
      const again = await t.request(path, { headers: { "if-none-match": etag } });
      assert.equal(again.status, 304, path);
      assert.equal(await again.text(), "");
      const changed = await t.request(path, { headers: { "if-none-match": '"something-else"' } });
      assert.equal(changed.status, 200);
      await changed.body?.cancel();
    }
  } finally {
    await t.close();
  }
});

Deno.test("unknown static paths and pages under /static are not found", async () => {
  const t = makeTestApp();
  try {
    for (
      const path of [
        "/static/nope.js",
        "/static/admin.html",
        "/static/../deno.json",
        "/static/js/../../main.ts",
      ]
    ) {
      const response = await t.request(path);
      assert.equal(response.status, 404, path);
      await response.body?.cancel();
    }
  } finally {
    await t.close();
  }
});

Deno.test("the console's scripts build no markup from data and keep no secrets in storage", async () => {
  const t = makeTestApp();
  try {
    const html = await (await t.request("/admin")).text();
    const scripts: string[] = [];
    for (const asset of assetsOf(html).filter((a) => a.endsWith(".js"))) {
      scripts.push(await (await t.request(asset)).text());
    }
    // Modules imported by the page's entry module are fetched too.
    for (let i = 0; i < scripts.length && i < 50; i++) {
      for (const m of scripts[i]!.matchAll(/from "\.\/([a-z_]+\.js)"/g)) {
        const text = await (await t.request(`/static/js/${m[1]}`)).text();
        if (!scripts.includes(text)) scripts.push(text);
      }
    }
    const all = [html, ...scripts].join("\n");
    for (
      const forbidden of [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "localStorage",
        "sessionStorage",
      ]
    ) {
      // dom.js names innerHTML in the list of properties it refuses; nothing assigns it.
      const uses = all.split("\n").filter((line) =>
        line.includes(forbidden) && !line.includes("FORBIDDEN =")
      );
      assert.deepEqual(uses, [], `the console uses ${forbidden}`);
    }
    assert.match(all, /credentials: "same-origin"/);
    for (
      const route of [
        "/api/admin/status",
        "/api/admin/setup",
        "/api/admin/login",
        "/api/admin/logout",
        "/v2/accounts",
        "/v2/keys",
        "/v2/config",
        "/v1/usage",
        "/v2/auth/start",
        "/v2/auth/status/",
        "/v2/auth/claim/",
      ]
    ) {
      assert.ok(all.includes(route), `the console calls ${route}`);
    }
  } finally {
    await t.close();
  }
});
