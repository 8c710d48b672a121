import { describe, expect, it } from "vitest";
import type { Address } from "viem";
import type { PaymentRequirements } from "../../protocol/x402/x402Types.ts";
import { requirementsObjection, type ExpectedRequirements } from "./requirementsObjection.ts";

const token: Address = "0x4444444444444444444444444444444444444444";
const payee: Address = "0x2222222222222222222222222222222222222222";
const provider: Address = "0x3333333333333333333333333333333333333333";
const expected: ExpectedRequirements = { network: "eip155:31337", token, payee, provider, maxCost: 1000n, batchSettlement: true };
const exact: PaymentRequirements = { scheme: "exact", network: "eip155:31337", amount: "1000", asset: token, payTo: payee, maxTimeoutSeconds: 120, extra: { name: "Gotong Test USD", version: "2" } };
const batch: PaymentRequirements = { ...exact, scheme: "batch-settlement", extra: { name: "Gotong Test USD", version: "2", receiverAuthorizer: provider, withdrawDelay: 900 } };

describe("requirementsObjection", () => {
  it("accepts a provider's exact and batch-settlement entries as it builds them", () => {
    expect(requirementsObjection(exact, expected)).toBeUndefined();
    expect(requirementsObjection(batch, expected)).toBeUndefined();
    // Addresses in any case, a withdraw delay left to the client's default.
    expect(requirementsObjection({ ...batch, payTo: payee.toUpperCase().replace("0X", "0x"), extra: { receiverAuthorizer: provider.toLowerCase() } }, expected)).toBeUndefined();
  });

  it("holds both schemes to the chain, the token, the payee and the gateway's bound", () => {
    for (const entry of [exact, batch]) {
      expect(requirementsObjection({ ...entry, network: "eip155:1" }, expected)).toMatch(/paid on eip155:1/);
      expect(requirementsObjection({ ...entry, asset: payee }, expected)).toMatch(/not the deployment's token/);
      expect(requirementsObjection({ ...entry, asset: "usdc" }, expected)).toMatch(/not the deployment's token/);
      expect(requirementsObjection({ ...entry, payTo: provider }, expected)).toMatch(/is not X402Splitter's payee/);
      expect(requirementsObjection({ ...entry, amount: "1001" }, expected)).toMatch(/more than this request can cost/);
    }
  });

  it("refuses batch-settlement without the canonical contracts, with another receiverAuthorizer or a withdraw delay the contract refuses", () => {
    expect(requirementsObjection(batch, { ...expected, batchSettlement: false })).toMatch(/canonical addresses/);
    // exact needs no batch-settlement contracts.
    expect(requirementsObjection(exact, { ...expected, batchSettlement: false })).toBeUndefined();
    expect(requirementsObjection({ ...batch, extra: { ...batch.extra, receiverAuthorizer: payee } }, expected)).toMatch(/receiverAuthorizer .* is not the provider/);
    expect(requirementsObjection({ ...batch, extra: { ...batch.extra, receiverAuthorizer: undefined } }, expected)).toMatch(/receiverAuthorizer undefined/);
    for (const withdrawDelay of [899, 2_592_001, 900.5, "900"]) {
      expect(requirementsObjection({ ...batch, extra: { ...batch.extra, withdrawDelay } }, expected)).toMatch(/withdrawDelay/);
    }
  });

  it("refuses every other scheme", () => {
    expect(requirementsObjection({ ...exact, scheme: "upto" }, expected)).toBe(`its scheme is "upto", not "exact" or "batch-settlement"`);
  });
});
