import { describe, expect, it } from "vitest";
import type { Address, Hex } from "viem";
import type { CheckProviderKeyOptions, KeyCheck } from "./checkProviderKey.ts";
import { createKeyCheckCache, KEY_CHECK_TTL_MS } from "./keyCheckCache.ts";

const base: CheckProviderKeyOptions = {
  rpc: "http://127.0.0.1:8545",
  chainId: 31337,
  registry: `0x${"ab".repeat(20)}`,
  provider: `0x${"cd".repeat(20)}`,
  gatewayKey: `0x${"11".repeat(32)}`,
};

/** A checker that counts how often the chain was asked, and fails when told to. */
function countingChecker() {
  const asked: CheckProviderKeyOptions[] = [];
  let failWith: Error | undefined;
  const check = async (o: CheckProviderKeyOptions): Promise<KeyCheck> => {
    asked.push(o);
    if (failWith) throw failWith;
    return { provider: o.provider as Address, gatewayKey: o.gatewayKey as Hex, chainKey: o.gatewayKey as Hex, rpc: o.rpc!, registry: o.registry as Address, chainId: o.chainId, checkedAt: asked.length };
  };
  return { asked, check, fail: (e: Error | undefined) => (failWith = e) };
}

describe("createKeyCheckCache: a provider's key is read from the chain once per while, not before every message", () => {
  it("asks the chain once for the same key within the time, and again after it", async () => {
    let clock = 1_000;
    const chain = countingChecker();
    const keys = createKeyCheckCache(chain.check, { now: () => clock });
    const first = await keys.check(base);
    expect(await keys.check({ ...base, provider: base.provider.toUpperCase().replace("0X", "0x"), gatewayKey: base.gatewayKey })).toBe(first);
    expect(chain.asked).toHaveLength(1);
    clock += KEY_CHECK_TTL_MS - 1;
    await keys.check(base);
    expect(chain.asked).toHaveLength(1);
    clock += 1;
    const again = await keys.check(base);
    expect(chain.asked).toHaveLength(2);
    expect(again.checkedAt).toBe(2);
  });

  it("asks afresh for another key, provider, RPC, chain or registry", async () => {
    const chain = countingChecker();
    const keys = createKeyCheckCache(chain.check);
    await keys.check(base);
    await keys.check({ ...base, gatewayKey: `0x${"22".repeat(32)}` });
    await keys.check({ ...base, provider: `0x${"ef".repeat(20)}` });
    await keys.check({ ...base, rpc: "https://rpc.example.org" });
    await keys.check({ ...base, chainId: 1 });
    await keys.check({ ...base, registry: `0x${"01".repeat(20)}` });
    expect(chain.asked).toHaveLength(6);
  });

  it("remembers no failure: a refused or unchecked key is asked about again next time", async () => {
    const chain = countingChecker();
    const keys = createKeyCheckCache(chain.check);
    chain.fail(new Error("provider_key_mismatch"));
    await expect(keys.check(base)).rejects.toThrow("provider_key_mismatch");
    await expect(keys.check(base)).rejects.toThrow("provider_key_mismatch");
    chain.fail(undefined);
    await keys.check(base);
    await keys.check(base);
    expect(chain.asked).toHaveLength(3);
  });
});
