/**
 * Every page and asset the browser loads: the console (`/admin`, `/dashboard`), the Gemini donation page
 * (`/donate`) and its OAuth landing page (`/oauth-callback-page`), and their scripts, styles and vendored
 * libraries under `/static/*`.
 *
 * Files are read once, when the app is built, from `staticDir` and nothing outside it (an absolute path
 * `main.ts` derives from its own `import.meta.url`, so a `deno compile` binary built with `--include static`
 * finds them in its embedded files whatever the working directory; links are skipped). Each answer carries a content-hash ETag (a repeat visit revalidates with 304 instead of
 * downloading again) and one set of security headers: a Content-Security-Policy that allows scripts and
 * styles from this origin only (no inline code or style, so injected markup cannot run), no framing, no
 * Referer (the OAuth landing page carries an authorization code in its URL).
 */
import { Hono } from "hono";
import { createHash } from "node:crypto";
import { extname, join } from "node:path";
import type { AppEnv } from "../lib/app_env.ts";
import { ApiError } from "../lib/errors.ts";

/** Page path -> file under the static folder. */
const PAGES: Record<string, string> = {
  "/admin": "admin.html",
  "/dashboard": "admin.html",
  "/donate": "donate.html",
  "/oauth-callback-page": "oauth_callback.html",
};

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin-allow-popups",
};

interface StaticFile {
  body: Uint8Array<ArrayBuffer>;
  type: string;
  etag: string;
}

/** Reads every file under `dir` (relative paths with `/`), skipping dot files. */
function readTree(dir: string, prefix = ""): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(join(dir, prefix))];
  } catch {
    return files;
  }
  for (const entry of entries) {
    // A link could point anywhere on the disk (and is not followed into a compiled binary's files).
    if (entry.name.startsWith(".") || entry.isSymlink) continue;
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory) {
      for (const [path, file] of readTree(dir, relative)) files.set(path, file);
      continue;
    }
    const type = CONTENT_TYPES[extname(entry.name).toLowerCase()];
    if (!type) continue;
    const body = Deno.readFileSync(join(dir, relative)) as Uint8Array<ArrayBuffer>;
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
    files.set(relative, { body, type, etag });
  }
  return files;
}

export function createStaticPageRoutes(deps: { staticDir: string }): Hono<AppEnv> {
  const files = readTree(deps.staticDir);
  const app = new Hono<AppEnv>();

  const serve = (file: StaticFile | undefined, ifNoneMatch: string | undefined, cache: string) => {
    if (!file) throw new ApiError("not_found_error", "file not found");
    const headers = { ...SECURITY_HEADERS, "cache-control": cache, etag: file.etag };
    if (ifNoneMatch && ifNoneMatch.split(/\s*,\s*/).includes(file.etag)) {
      return new Response(null, { status: 304, headers });
    }
    return new Response(file.body, { headers: { ...headers, "content-type": file.type } });
  };

  for (const [path, name] of Object.entries(PAGES)) {
    // The landing page's URL holds an authorization code: nothing of it is kept in a cache.
    const cache = path === "/oauth-callback-page" ? "no-store" : "no-cache";
    app.get(path, (c) => serve(files.get(name), c.req.header("if-none-match"), cache));
  }
  app.get("/static/*", (c) => {
    const relative = c.req.path.slice("/static/".length);
    // Pages are served at their own paths only; assets are revalidated (their names carry no hash).
    const file = relative.endsWith(".html") ? undefined : files.get(relative);
    return serve(file, c.req.header("if-none-match"), "no-cache");
  });
  return app;
}
