import { request as httpRequest } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeFunctionData, erc20Abi, parseAbi } from "viem";
import { formatUnits, parseUnits } from "../../src/web/app/lib/format.ts";
import { encodeCall } from "../../src/web/app/wallet/encodeCall.ts";
import { startWebNetwork, type WebNetwork } from "./helpers/webNetwork.ts";

/** A raw HTTP request, so the Host and Origin headers are exactly what a test says. */
function raw(url: string, options: { method?: string; path: string; headers?: Record<string, string>; body?: string }) {
  const target = new URL(url);
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: target.hostname, port: target.port, method: options.method ?? "GET", path: options.path, headers: options.headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

describe("the web app's pure helpers", () => {
  it("formatUnits and parseUnits round-trip any amount exactly, with no floating point", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 2n ** 128n }), fc.integer({ min: 0, max: 18 }), (value, decimals) => {
        const text = formatUnits(value, decimals).replace(/,/g, "");
        const parsed = parseUnits(text, decimals);
        expect(parsed).toEqual({ ok: true, value });
      }),
    );
    expect(parseUnits("1.2345678", 6)).toEqual({ ok: false, error: "At most 6 decimals." });
    expect(parseUnits("0", 6).ok).toBe(false);
    expect(parseUnits("-1", 6).ok).toBe(false);
    expect(parseUnits("1e6", 6).ok).toBe(false);
  });

  it("encodes the page's calls exactly as viem does", () => {
    const qf = parseAbi(["function donate(uint256,uint256,uint256)", "function startClose(bytes32)", "function withdraw(bytes32)"]);
    const id = `0x${"ab".repeat(32)}` as const;
    expect(encodeCall("donate(uint256,uint256,uint256)", [{ type: "uint256", value: 1n }, { type: "uint256", value: 2n }, { type: "uint256", value: 2n ** 255n }])).toBe(
      encodeFunctionData({ abi: qf, functionName: "donate", args: [1n, 2n, 2n ** 255n] }),
    );
    expect(encodeCall("startClose(bytes32)", [{ type: "bytes32", value: id }])).toBe(encodeFunctionData({ abi: qf, functionName: "startClose", args: [id] }));
    const spender = "0x00000000000000000000000000000000DeaDBeef";
    expect(encodeCall("approve(address,uint256)", [{ type: "address", value: spender }, { type: "uint256", value: 5n }])).toBe(
      encodeFunctionData({ abi: erc20Abi, functionName: "approve", args: [spender, 5n] }),
    );
    expect(() => encodeCall("withdraw(bytes32)", [{ type: "bytes32", value: "0x12" }])).toThrow(/not a bytes32/);
  });
});

describe("the gateway's web routes", () => {
  let web: WebNetwork;
  beforeAll(async () => {
    web = await startWebNetwork();
  });
  afterAll(() => web?.stop());

  it("serves the page with a strict policy, and nothing outside the build folder", async () => {
    const page = await raw(web.gateway.url, { path: "/" });
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toContain("text/html");
    expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(page.headers["x-frame-options"]).toBe("DENY");
    expect(page.body).toMatch(/<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
    for (const path of ["/../package.json", "/assets/../../package.json", "/%2e%2e/%2e%2e/package.json", "/assets/%2e%2e%2f%2e%2e%2fpackage.json", "/.source-hash", "/assets/nothing.js"]) {
      const res = await raw(web.gateway.url, { path });
      expect(res.status, path).toBe(404);
      expect(res.body).not.toContain('"name": "gotong"');
    }
    // The API and the OpenAI routes are not shadowed by the page.
    expect((await raw(web.gateway.url, { path: "/v1/models" })).headers["content-type"]).toContain("application/json");
    expect((await raw(web.gateway.url, { path: "/gotong/web/nothing" })).status).toBe(404);
  });

  it("the local wallet answers only the page itself: loopback host, same origin, its header, JSON", async () => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_accounts" });
    const port = new URL(web.gateway.url).port;
    const good = { "content-type": "application/json", "x-gotong-web": "1", host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` };
    const ok = await raw(web.gateway.url, { method: "POST", path: "/gotong/web/wallet", headers: good, body });
    expect(JSON.parse(ok.body).result).toEqual([web.gateway.address]);
    const refused = [
      { ...good, origin: "https://evil.example" },
      { ...good, host: `evil.example:${port}`, origin: `http://evil.example:${port}` }, // DNS rebinding
      { ...good, "x-gotong-web": "" },
      { ...good, "content-type": "text/plain" }, // a cross-site "simple" request
    ];
    for (const headers of refused) {
      const res = await raw(web.gateway.url, { method: "POST", path: "/gotong/web/wallet", headers, body });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(JSON.parse(res.body).error.code).toBe("wallet_forbidden");
    }
  });

  it("the local wallet sends only Gotong's own calls, and names the contract's refusal before sending", async () => {
    const port = new URL(web.gateway.url).port;
    const headers = { "content-type": "application/json", "x-gotong-web": "1", host: `127.0.0.1:${port}` };
    const send = async (to: string, data: string) => {
      const res = await raw(web.gateway.url, { method: "POST", path: "/gotong/web/wallet", headers, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_sendTransaction", params: [{ to, data }] }) });
      return JSON.parse(res.body) as { result?: string; error?: { code: number; message: string } };
    };
    const token = web.deployment.token.address;
    const thief = "0x000000000000000000000000000000000000bEEF";
    const transfer = await send(token, encodeFunctionData({ abi: erc20Abi, functionName: "transfer", args: [thief, 1n] }));
    expect(transfer.error?.code).toBe(4200);
    const approveThief = await send(token, encodeCall("approve(address,uint256)", [{ type: "address", value: thief }, { type: "uint256", value: 1n }]));
    expect(approveThief.error?.message).toContain("approves only Gotong's own contracts");
    const closeNothing = await send(web.deployment.paymentChannels, encodeCall("startClose(bytes32)", [{ type: "bytes32", value: `0x${"00".repeat(32)}` }]));
    expect(closeNothing.error?.code).toBe(3);
    expect(closeNothing.error?.message).toContain("ChannelNotOpen");
    expect(await web.balanceOf(thief)).toBe(0n);
  });
});
