/**
 * Per-account upstream proxies, proven by the proxies' own logs: a real HTTP proxy (`proxy`, with basic
 * auth) and a real SOCKS5 proxy (`@pondwader/socks5-server`, with username/password) in front of a fake
 * Amazon Q. Account A names the HTTP proxy, account B inherits `UPSTREAM_PROXY` (the SOCKS5 one), account C
 * is `direct`. A's token refresh goes through A's proxy too, and the admin API never shows the credentials.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type * as net from "node:net";
import { createProxy } from "proxy";
import { createServer as createSocksServer } from "@pondwader/socks5-server";
import { adminSession, json, makeTestApp, type TestApp } from "../../_helpers/test_app.ts";
import { startFakeAmazonQ } from "../../_helpers/fake_amazonq_server.ts";
import { UpstreamClients } from "../../../lib/upstream/upstream_clients.ts";

interface Proxies {
  httpUrl: string;
  socksUrl: string;
  httpLog: string[];
  socksLog: string[];
  close(): Promise<void>;
}

async function startProxies(): Promise<Proxies> {
  const httpLog: string[] = [];
  const socksLog: string[] = [];
  const expected = `Basic ${btoa("alice:s3cret pw")}`;
  const httpServer = createProxy(http.createServer());
  httpServer.authenticate = (req) => req.headers["proxy-authorization"] === expected;
  httpServer.on("request", (req: http.IncomingMessage) => httpLog.push(`${req.method} ${req.url}`));
  httpServer.on("connect", (req: http.IncomingMessage) => httpLog.push(`CONNECT ${req.url}`));
  await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  const socks = createSocksServer({ auth: { username: "bob", password: "hunter22" } });
  socks.setRulesetValidator((conn) => {
    socksLog.push(`CONNECT ${conn.destAddress}:${conn.destPort}`);
    return true;
  });
  await new Promise<void>((resolve) => socks.listen(0, "127.0.0.1", () => resolve()));
  // The library keeps its `net.Server` private: its address gives the port, and its sockets must be ended
  // by the test (the app's pooled tunnels stay open, and `close()` would wait for them for ever).
  const socksServer = (socks as unknown as { server: net.Server }).server;
  const socksSockets = new Set<net.Socket>();
  socksServer.on("connection", (socket: net.Socket) => {
    socksSockets.add(socket);
    socket.on("close", () => socksSockets.delete(socket));
  });
  const socksPort = (socksServer.address() as AddressInfo).port;
  return {
    httpUrl: `http://alice:s3cret%20pw@127.0.0.1:${(httpServer.address() as AddressInfo).port}`,
    socksUrl: `socks5://bob:hunter22@127.0.0.1:${socksPort}`,
    httpLog,
    socksLog,
    close: async () => {
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      for (const socket of socksSockets) socket.destroy();
      await new Promise<void>((resolve) => socks.close(() => resolve()));
    },
  };
}

const MESSAGE = { model: "claude-sonnet-4-5", max_tokens: 64, messages: [{ role: "user", content: "hi" }] };

async function ask(t: TestApp): Promise<string> {
  const response = await t.request("/v1/messages", json(MESSAGE, { "x-api-key": "test-client-key-1" }));
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body.content[0].text;
}

Deno.test("each account's calls and refreshes leave through its own proxy, the default one, or directly", async () => {
  const upstream = await startFakeAmazonQ();
  const proxies = await startProxies();
  const upstreamHost = new URL(upstream.url).host;
  const t = makeTestApp({
    realClock: true,
    env: {
      API_KEY: "test-client-key-1",
      AMAZONQ_API_ENDPOINT: `${upstream.url}/`,
      KIRO_REFRESH_ENDPOINT: `${upstream.url}/refreshToken`,
      UPSTREAM_PROXY: proxies.socksUrl,
    },
  });
  try {
    const token = await adminSession(t);
    const admin = { "x-session-token": token };
    const create = async (label: string, proxy?: string) => {
      const response = await t.request(
        "/v2/accounts",
        json({
          type: "amazonq",
          label,
          refreshToken: `refresh-${label}-0123456789`,
          enabled: false,
          ...(proxy ? { proxy } : {}),
        }, admin),
      );
      const body = await response.json();
      assert.equal(response.status, 201, JSON.stringify(body));
      return body;
    };
    const a = await create("A", proxies.httpUrl);
    const b = await create("B");
    const c = await create("C", "direct");

    // The API shows where an account's traffic goes, never the proxy's credentials.
    assert.equal(a.proxy_set, true);
    assert.equal(a.proxy, new URL(proxies.httpUrl).origin);
    assert.equal(b.proxy_set, false);
    assert.equal(c.proxy, "direct");
    const list = await (await t.request("/v2/accounts", { headers: admin })).text();
    assert.ok(!list.includes("s3cret"), list);
    assert.ok(!list.includes("alice"), list);
    const plainExport = await (await t.request("/v2/accounts/export", { headers: admin })).text();
    assert.ok(!plainExport.includes("s3cret"));
    const fullExport = await (await t.request("/v2/accounts/export?include_secrets=true", { headers: admin }))
      .text();
    assert.ok(fullExport.includes("s3cret%20pw"));

    const only = async (id: string) => {
      for (const other of [a.id, b.id, c.id]) {
        const response = await t.request(
          `/v2/accounts/${other}`,
          json({ enabled: other === id }, admin, "PATCH"),
        );
        assert.equal(response.status, 200);
        await response.body?.cancel();
      }
    };

    await only(a.id);
    assert.equal(await ask(t), "Hello from the fake.");
    // A had no access token: its refresh went through A's HTTP proxy, then the call did.
    assert.deepEqual(proxies.httpLog, [
      `POST http://${upstreamHost}/refreshToken`,
      `POST http://${upstreamHost}/`,
    ]);
    assert.deepEqual(proxies.socksLog, []);

    await only(b.id);
    const callsBefore = upstream.stats.calls;
    assert.equal(await ask(t), "Hello from the fake.");
    assert.equal(upstream.stats.calls, callsBefore + 1);
    // B has no proxy of its own: the default SOCKS5 proxy carried its refresh and call (one pooled tunnel
    // or more; never the HTTP proxy).
    assert.ok(proxies.socksLog.length >= 1);
    assert.ok(proxies.socksLog.every((line) => line === `CONNECT ${upstreamHost}`), proxies.socksLog.join());
    assert.equal(proxies.httpLog.length, 2);

    await only(c.id);
    const socksBefore = proxies.socksLog.length;
    const refreshesBefore = upstream.stats.refreshes;
    assert.equal(await ask(t), "Hello from the fake.");
    // C is direct: the upstream saw its refresh and call, neither proxy did.
    assert.equal(upstream.stats.refreshes, refreshesBefore + 1);
    assert.equal(proxies.socksLog.length, socksBefore);
    assert.equal(proxies.httpLog.length, 2);

    // A again: the same pooled client, so the HTTP proxy sees one more call and no new refresh.
    await only(a.id);
    assert.equal(await ask(t), "Hello from the fake.");
    assert.deepEqual(proxies.httpLog.slice(2), [`POST http://${upstreamHost}/`]);
  } finally {
    await t.close();
    await proxies.close();
    await upstream.close();
  }
});

Deno.test("proxy settings are validated on create and update", async () => {
  const t = makeTestApp();
  try {
    const admin = { "x-session-token": await adminSession(t) };
    for (const proxy of ["ftp://127.0.0.1:21", "http://127.0.0.1:8080/path", "not a url", ""]) {
      const response = await t.request(
        "/v2/accounts",
        json({ type: "amazonq", refreshToken: "refresh-0123456789", proxy }, admin),
      );
      const body = await response.json();
      assert.equal(response.status, 400, `${proxy}: ${JSON.stringify(body)}`);
      assert.equal(body.type, "error");
      assert.match(body.error.message, /proxy/);
    }
    const created = await t.request(
      "/v2/accounts",
      json({ type: "amazonq", refreshToken: "refresh-0123456789", proxy: "socks5://127.0.0.1:1080" }, admin),
    );
    const account = await created.json();
    assert.equal(account.proxy, "socks5://127.0.0.1:1080");
    const bad = await t.request(`/v2/accounts/${account.id}`, json({ proxy: "gopher://x" }, admin, "PATCH"));
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    const cleared = await t.request(`/v2/accounts/${account.id}`, json({ proxy: null }, admin, "PATCH"));
    const after = await cleared.json();
    assert.equal(after.proxy_set, false);
    assert.equal((await t.store.accounts.get(account.id))!.other.proxy, undefined);
  } finally {
    await t.close();
  }
});

Deno.test("one pooled client per distinct proxy, none for direct", () => {
  const created: Deno.CreateHttpClientOptions[] = [];
  const clients = new UpstreamClients({
    defaultProxy: "http://127.0.0.1:3128",
    create: (options) => {
      created.push(options);
      return { close() {} } as unknown as Deno.HttpClient;
    },
  });
  const viaDefault = { other: {} };
  const viaSocks = { other: { proxy: "socks5://u:p%40ss@127.0.0.1:1080" } };
  const direct = { other: { proxy: "direct" } };
  const first = clients.forAccount(viaDefault);
  for (let i = 0; i < 5; i++) assert.equal(clients.forAccount(viaDefault), first);
  assert.ok(clients.forAccount(viaSocks));
  assert.equal(clients.forAccount(viaSocks), clients.forAccount({ other: { ...viaSocks.other } }));
  assert.equal(clients.forAccount(direct), undefined);
  assert.equal(clients.size, 2);
  assert.deepEqual(created[1]!.proxy, {
    transport: "socks5",
    url: "socks5://127.0.0.1:1080",
    basicAuth: { username: "u", password: "p@ss" },
  });
  assert.throws(() => clients.forAccount({ other: { proxy: "ftp://x" } }), /proxy setting/);
});
