import assert from "node:assert/strict";
import { extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ApiError } from "../../lib/errors.ts";
import { createStaticPageRoutes } from "../../routes/static_pages.ts";
import { startServer } from "../_helpers/server_process.ts";
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

/** The static folder on disk (what `deno compile --include static` embeds). */
const STATIC_ROOT = fileURLToPath(new URL("../../static/", import.meta.url));

const TYPES: Record<string, RegExp> = {
  ".html": /^text\/html; charset=utf-8$/,
  ".js": /^text\/javascript; charset=utf-8$/,
  ".css": /^text\/css; charset=utf-8$/,
};

/**
 * Every same-origin path a page loads, following module imports (static and dynamic) and stylesheet
 * `url()`/`@import` references: path -> the file that referenced it.
 */
async function referencedFiles(get: (path: string) => Promise<string>): Promise<Map<string, string>> {
  const found = new Map<string, string>(PAGES.map((p) => [p, "(page)"]));
  const queue = [...PAGES];
  for (let i = 0; i < queue.length && i < 200; i++) {
    const path = queue[i]!;
    const text = await get(path);
    const specs = path.endsWith(".css")
      ? [...text.matchAll(/url\(\s*["']?([^"')]+)["']?\s*\)|@import\s+["']([^"']+)["']/g)].map((m) =>
        m[1] ?? m[2]!
      )
      : path.endsWith(".js")
      ? [
        ...text.matchAll(/(?:\bfrom\s*|^\s*import\s*|\bimport\(\s*)["'](\.{0,2}\/[^"']+)["']/gm),
      ].map((m) => m[1]!)
      : [...text.matchAll(/\s(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    for (const spec of specs) {
      if (/^(data:|https?:|#)/.test(spec)) {
        // Nothing is loaded from another origin (the CSP would refuse it anyway).
        assert.match(spec, /^(data:|#)/, `${path} loads ${spec} from elsewhere`);
        continue;
      }
      const resolved = new URL(spec, `http://x${path}`).pathname;
      if (!found.has(resolved)) {
        found.set(resolved, path);
        queue.push(resolved);
      }
    }
  }
  return found;
}

Deno.test(
  "every file the pages load exists under static/ and is served with its content type, from any working directory",
  async () => {
    // The server as `deno task start` runs it, but started from another directory: the static folder is
    // found from main.ts's own location, as a compiled binary finds its embedded copy.
    const elsewhere = await Deno.makeTempDir({ prefix: "amq2api-cwd-" });
    const server = await startServer({}, { cwd: elsewhere });
    try {
      const get = async (path: string) => {
        const response = await fetch(`${server.url}${path}`);
        assert.equal(response.status, 200, path);
        return await response.text();
      };
      const files = await referencedFiles(get);
      const assets = [...files.keys()].filter((p) => p.startsWith("/static/"));
      // The console's entry module, a shared module, its chart library (module and stylesheet), each page's
      // stylesheet: the walk reaches all of them.
      for (
        const expected of [
          "/static/js/admin.js",
          "/static/js/dom.js",
          "/static/vendor/uplot/uPlot.esm.js",
          "/static/vendor/uplot/uPlot.min.css",
          "/static/css/console.css",
          "/static/css/donate.css",
          "/static/js/oauth_callback.js",
        ]
      ) assert.ok(assets.includes(expected), `${expected} not reached: ${assets.join(" ")}`);
      for (const [path, from] of files) {
        const response = await fetch(`${server.url}${path}`);
        const body = new Uint8Array(await response.arrayBuffer());
        assert.equal(response.status, 200, `${path} (from ${from})`);
        const name = path.startsWith("/static/") ? path.slice("/static/".length) : null;
        const ext = name === null ? ".html" : extname(name);
        assert.ok(TYPES[ext], `${path}: no expected type for ${ext}`);
        assert.match(response.headers.get("content-type") ?? "", TYPES[ext]!, path);
        assert.ok(response.headers.get("etag"), path);
        assert.match(response.headers.get("content-security-policy") ?? "", /script-src 'self'/, path);
        if (name === null) continue;
        // The file sits inside the static folder, and what is served is that file.
        const file = resolve(STATIC_ROOT, name);
        assert.ok(file.startsWith(STATIC_ROOT), `${path} points outside static/`);
        assert.deepEqual(body, await Deno.readFile(file), path);
      }
    } finally {
      await server.kill();
      await Deno.remove(elsewhere, { recursive: true });
    }
  },
);

Deno.test("the compiled binary embeds the static folder, and main.ts finds it from its own location", async () => {
  const root = new URL("../../", import.meta.url);
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  assert.match(config.tasks.compile, /--include static(\s|$)/);
  const main = await Deno.readTextFile(new URL("main.ts", root));
  const line = main.split("\n").find((l) => /const staticDir\b/.test(l)) ?? "";
  assert.match(line, /import\.meta\.(url|dirname)/, `main.ts: ${line}`);
  assert.match(line, /"static"/);
});

Deno.test("the static route serves files of its folder only: a link out of it is not followed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "amq2api-static-" });
  const outside = await Deno.makeTempDir({ prefix: "amq2api-outside-" });
  try {
    await Deno.mkdir(join(dir, "js"));
    await Deno.writeTextFile(join(dir, "js", "ok.js"), "export const ok = 1;\n");
    await Deno.writeTextFile(join(outside, "secret.js"), "export const secret = 1;\n");
    await Deno.symlink(join(outside, "secret.js"), join(dir, "js", "linked.js"));
    await Deno.symlink(outside, join(dir, "linked-dir"));
    const app = createStaticPageRoutes({ staticDir: dir });
    // Alone, the route has no error handler: a missing file's ApiError says "not found" by its status.
    app.onError((error) => new Response(null, { status: error instanceof ApiError ? error.status : 500 }));
    const ok = await app.request("/static/js/ok.js");
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), "export const ok = 1;\n");
    for (const path of ["/static/js/linked.js", "/static/linked-dir/secret.js"]) {
      const refused = await app.request(path);
      assert.equal(refused.status, 404, path);
      await refused.body?.cancel();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});
