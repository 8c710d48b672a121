import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runGotong, spawnGotong, type CliProcess } from "../helpers/cli.ts";
import { startChatNetwork, type ChatNetwork } from "../helpers/network.ts";
import { freePort } from "../helpers/ports.ts";
import { readCost } from "../helpers/readCost.ts";
import { tempHome } from "../helpers/tempHome.ts";

type ListedKey = { id: string; name: string; budget: string; periodSeconds: number; spent: string; reserved: string; requests: number; totalSpent: string; rpm: number; createdAt: string; periodResetsAt: string; revokedAt: string | null };

describe("gotong gateway key create|list|revoke, gotong gateway start --keys and gotong receipts --key", () => {
  let net: ChatNetwork;
  let gateway: CliProcess;
  let baseUrl: string;
  const gotong = async (...args: string[]) => {
    const result = await runGotong([...args, "--home", net.home.root]);
    return { ...result, json: () => JSON.parse(result.stdout) as unknown };
  };
  const ask = (key: string | undefined) =>
    fetch(`${baseUrl}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ model: net.model.name, messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 6 }),
    });

  beforeAll(async () => {
    net = await startChatNetwork();
    await net.provider(net.model.path);
    // The gateway the operator runs, from the CLI, requiring keys; its key and store are the home's.
    gateway = spawnGotong(["gateway", "start", "--keys", "--port", String(await freePort()), "--home", net.home.root]);
    baseUrl = (await gateway.waitFor(/http:\/\/127\.0\.0\.1:\d+\/v1/, 120_000)).trim();
  });
  afterAll(async () => {
    if (gateway && gateway.child.exitCode === null) {
      gateway.child.kill("SIGTERM");
      await gateway.exited;
    }
    await net?.stop();
  });

  it("says what is wrong: no budget, a bad period, no keys yet, an unknown id or subcommand", async () => {
    const noBudget = await gotong("gateway", "key", "create", "--rpm", "5");
    expect(noBudget.code).toBe(1);
    expect(noBudget.stderr).toMatch(/--budget is required/);
    const badPeriod = await gotong("gateway", "key", "create", "--budget", "1", "--period", "soon");
    expect(badPeriod.code).toBe(1);
    expect(badPeriod.stderr).toMatch(/--period must be a duration/);
    const badBudget = await gotong("gateway", "key", "create", "--budget", "lots");
    expect(badBudget.code).toBe(1);
    expect(badBudget.stderr).toMatch(/Invalid amount "lots"/);
    const unknown = await gotong("gateway", "key", "revoke", "key_0000000000000000");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/No API key key_0000000000000000/);
    const sub = await gotong("gateway", "key", "rotate");
    expect(sub.code).toBe(1);
    expect(sub.stderr).toMatch(/Unknown gateway key command "rotate"/);

    const empty = tempHome();
    try {
      const none = await runGotong(["gateway", "key", "list", "--home", empty.root]);
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/No API keys/);
      expect(none.stderr).toMatch(/hint: .*gotong gateway key create/);
    } finally {
      empty.cleanup();
    }
  });

  it("issues keys the running gateway honours at once, lists their usage, and revokes them", async () => {
    expect((await ask(undefined)).status).toBe(401);

    const created = await gotong("gateway", "key", "create", "--budget", "0.5", "--period", "12h", "--rpm", "30", "--name", "alice", "--json");
    expect(created.code, created.stderr).toBe(0);
    const alice = created.json() as ListedKey & { key: string };
    expect(alice.key).toMatch(/^gk-[A-Za-z0-9_-]{43}$/);
    expect(alice).toMatchObject({ name: "alice", budget: "500000", periodSeconds: 43_200, rpm: 30, spent: "0", revokedAt: null });
    // Without --json: the key itself first, once, then what it may do.
    const bob = await gotong("gateway", "key", "create", "--budget", "2", "--rpm", "5", "--name", "bob");
    expect(bob.code, bob.stderr).toBe(0);
    const bobKey = bob.stdout.split("\n")[0]!;
    expect(bobKey).toMatch(/^gk-/);
    expect(bob.stdout).toMatch(/API key key_[0-9a-f]{16} \(bob\): 2 gUSD per 1d, 5 requests per minute/);
    expect(bob.stdout).toMatch(/only time the key is shown/);

    // The gateway, started before these keys existed, serves them now.
    const costs: bigint[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await ask(alice.key);
      expect(res.status).toBe(200);
      costs.push((await readCost(res)).cost!);
    }
    const spent = costs[0]! + costs[1]!;
    expect((await ask(bobKey)).status).toBe(200);

    const listed = await gotong("gateway", "key", "list", "--json");
    expect(listed.code, listed.stderr).toBe(0);
    const keys = listed.json() as ListedKey[];
    expect(keys.map((k) => k.name)).toEqual(["alice", "bob"]);
    expect(keys[0]).toMatchObject({ id: alice.id, spent: spent.toString(), reserved: "0", requests: 2, totalSpent: spent.toString(), rpm: 30, revokedAt: null });
    expect(Date.parse(keys[0]!.periodResetsAt) - Date.parse(keys[0]!.createdAt)).toBe(43_200_000);
    expect(JSON.stringify(keys)).not.toContain(alice.key); // never shown again
    const text = await gotong("gateway", "key", "list");
    expect(text.stdout).toMatch(new RegExp(`${alice.id}  alice +spent 0\\.\\d+ gUSD of 0\\.5 gUSD per 12h  30 rpm  created \\S+  resets \\S+`));

    // Usage per key: the receipts of alice only, with her totals.
    const receipts = await gotong("receipts", "--key", alice.id, "--json");
    expect(receipts.code, receipts.stderr).toBe(0);
    const mine = receipts.json() as { key: ListedKey; receipts: { cost: string; apiKey: string }[]; totals: { receipts: number; cost: string } };
    expect(mine.receipts.map((r) => BigInt(r.cost)).sort()).toEqual([...costs].sort());
    expect(mine.receipts.every((r) => r.apiKey === alice.id)).toBe(true);
    expect(mine.totals).toMatchObject({ receipts: 2, cost: spent.toString() });
    expect(mine.key).toMatchObject({ id: alice.id, spent: spent.toString() });
    const all = (await gotong("receipts", "--json")).json() as unknown[];
    expect(all).toHaveLength(3);
    const aliceText = await gotong("receipts", "--key", alice.id);
    expect(aliceText.stdout).toMatch(new RegExp(`API key ${alice.id} \\(alice\\): 2 receipt\\(s\\), \\d+ in \\d+ out, 0\\.\\d+ gUSD in total; this period 0\\.\\d+ gUSD of 0\\.5 gUSD`));
    const noSuchKey = await gotong("receipts", "--key", "key_0000000000000000");
    expect(noSuchKey.code).toBe(1);
    expect(noSuchKey.stderr).toMatch(/No API key key_0000000000000000/);

    const revoked = await gotong("gateway", "key", "revoke", alice.id);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(new RegExp(`revoked ${alice.id} \\(alice\\)`));
    const refused = await ask(alice.key);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("invalid_api_key");
    expect((await ask(bobKey)).status).toBe(200);
    const after = (await gotong("gateway", "key", "list", "--json")).json() as ListedKey[];
    expect(after[0]!.revokedAt).not.toBeNull();
    expect(after[1]!.revokedAt).toBeNull();
    expect((await gotong("gateway", "key", "list")).stdout).toMatch(new RegExp(`${alice.id} .* revoked \\S+`));
  });
});
