import { BaseError, ContractFunctionExecutionError, ContractFunctionRevertedError, encodeErrorResult, encodeAbiParameters, type Abi, type AbiParameter, type Hex } from "viem";
import { describe, expect, it } from "vitest";
import { agentWalletAbi } from "../agent/walletAbi.ts";
import * as artifacts from "./contracts.generated.ts";
import { decodeContractError, listContractErrors, revertDataOf } from "./decodeContractError.ts";
import { ContractRevertError } from "./errors.ts";
import { toChainError } from "./writeAndWait.ts";

type AbiError = Extract<Abi[number], { type: "error" }>;
const all = Object.values(artifacts) as { contractName: string; abi: Abi }[];

/** A value of `param`'s type, and how the decoder must show it. */
function sample(param: AbiParameter, i: number): { value: unknown; shown: string } {
  const type = param.type;
  if (type.endsWith("[]")) {
    const inner = sample({ ...param, type: type.slice(0, -2) } as AbiParameter, i);
    return { value: [inner.value], shown: `[${inner.shown}]` };
  }
  if (type === "tuple") {
    const parts = (param as { components: readonly AbiParameter[] }).components.map((c, j) => ({ name: c.name!, ...sample(c, i + j) }));
    return { value: Object.fromEntries(parts.map((p) => [p.name, p.value])), shown: `{${parts.map((p) => `${p.name}: ${p.shown}`).join(", ")}}` };
  }
  // viem gives integers of up to 48 bits as numbers, wider ones as bigints.
  const bits = Number(/^u?int(\d*)$/.exec(type)?.[1] || 256);
  const integer = (n: number) => ({ value: bits <= 48 ? n : BigInt(n), shown: String(n) });
  // Distinct per argument, and within the narrowest type (uint8): an argument mixed up with another shows.
  if (type.startsWith("uint")) return integer(100 + i);
  if (type.startsWith("int")) return integer(-(100 + i));
  if (type === "address") {
    const value = `0x${String(i + 1).padStart(40, "0")}`; // digits only: its checksummed form is itself
    return { value, shown: value };
  }
  if (type === "bool") return { value: i % 2 === 0, shown: String(i % 2 === 0) };
  if (type === "string") return { value: `text ${i}`, shown: `"text ${i}"` };
  if (type === "bytes") return { value: "0xbeef", shown: "0xbeef" };
  const size = Number(/^bytes(\d+)$/.exec(type)?.[1]);
  if (!size) throw new Error(`the test has no sample for ABI type ${type}: add one`);
  const value = `0x${(i + 1).toString(16).padStart(2, "0").repeat(size)}`;
  return { value, shown: value };
}

describe("decodeContractError", () => {
  const errors = all.flatMap((a) => (a.abi.filter((item) => item.type === "error") as AbiError[]).map((item) => ({ contract: a.contractName, abi: a.abi, item })));

  it("covers every contract of the artifacts, and each has errors", () => {
    expect(all.map((a) => a.contractName).sort()).toEqual(Object.keys(artifacts).map((k) => k.replace(/Artifact$/, "")).sort());
    expect(errors.length).toBeGreaterThan(100);
    expect(new Set(listContractErrors().map((e) => e.name))).toEqual(new Set(errors.map((e) => e.item.name)));
  });

  // Every `type: "error"` entry of every ABI: a new contract error cannot be forgotten.
  it.each(errors.map((e) => [`${e.contract}.${e.item.name}`, e] as const))("decodes %s by name with each value", (_, { contract, abi, item }) => {
    const values = item.inputs.map((input, i) => sample(input, i));
    const data = encodeErrorResult({ abi: [item], errorName: item.name, args: values.map((v) => v.value) as never });
    const shown = item.inputs.map((input, i) => (input.name ? `${input.name}=${values[i]!.shown}` : values[i]!.shown)).join(", ");

    const refusal = decodeContractError(data, { what: "the call", abi })!;
    expect(refusal).toBeInstanceOf(ContractRevertError);
    expect(refusal.code).toBe("contract_revert");
    expect(refusal.message).toBe(`the call was refused by ${contract}: ${item.name}(${shown})`);
    expect(refusal.errorName).toBe(item.name);
    expect(refusal.contract).toBe(contract);
    expect(refusal.args).toEqual(values.map((v) => v.value));
    expect(refusal.data).toBe(data);

    // Without the called ABI, the contract is every one that declares this error.
    const declarers = listContractErrors().find((e) => e.selector === data.slice(0, 10))!.contracts;
    expect(declarers).toContain(contract);
    expect(decodeContractError(data)!.message).toMatch(new RegExp(`^${declarers.join(" or ")}: ${item.name}\\(`));
  });

  it("names a donation to a finalized round's closed window instead of showing 0x23229f3a", () => {
    const data = encodeErrorResult({ abi: artifacts.QuadraticFundingArtifact.abi, errorName: "DonationWindowClosed", args: [3n, 1_700_000_500n, 1_700_000_000n, 1_700_000_400n] });
    expect(data.slice(0, 10)).toBe("0x23229f3a");
    expect(decodeContractError(data)!.message).toBe("QuadraticFunding: DonationWindowClosed(roundId=3, now=1700000500, start=1700000000, end=1700000400)");
  });

  it("decodes a revert that bubbled up through the agent wallet, whose ABI lacks the funding contract's errors", () => {
    const data = encodeErrorResult({ abi: artifacts.QuadraticFundingArtifact.abi, errorName: "DonationWindowClosed", args: [1n, 20n, 5n, 10n] });
    const viemError = new ContractFunctionExecutionError(new ContractFunctionRevertedError({ abi: agentWalletAbi, data, functionName: "executeBatch" }), {
      abi: agentWalletAbi,
      functionName: "executeBatch",
      args: [[]],
    });
    // What viem alone makes of it: the selector, nothing a person can act on.
    expect(viemError.shortMessage).toContain("0x23229f3a");
    const chainError = toChainError(viemError, "executeBatch", undefined, agentWalletAbi) as ContractRevertError;
    expect(chainError).toBeInstanceOf(ContractRevertError);
    expect(chainError.message).toBe("executeBatch was refused by QuadraticFunding: DonationWindowClosed(roundId=1, now=20, start=5, end=10)");
    expect(chainError.message).not.toContain("0x23229f3a");
    expect(chainError.cause).toBe(viemError);
  });

  it("takes the name of the called contract when several declare the error", () => {
    const data = encodeErrorResult({ abi: artifacts.PaymentChannelsArtifact.abi, errorName: "ZeroAmount" });
    expect(decodeContractError(data, { abi: artifacts.QuadraticFundingArtifact.abi })!.message).toBe("QuadraticFunding: ZeroAmount()");
    expect(decodeContractError(data, { abi: artifacts.PaymentChannelsArtifact.abi })!.message).toBe("PaymentChannels: ZeroAmount()");
    expect(decodeContractError(data)!.message).toBe("AgentReputation or PaymentChannels or ProviderRegistry or QuadraticFunding or ServingVerification: ZeroAmount()");
  });

  it("decodes Solidity's Error(string) and Panic(uint256)", () => {
    const error = `0x08c379a0${encodeAbiParameters([{ type: "string" }], ["no way"]).slice(2)}` as Hex;
    expect(decodeContractError(error, { what: "pay" })!.message).toBe('pay was refused by the contract: Error("no way")');
    const panic = `0x4e487b71${encodeAbiParameters([{ type: "uint256" }], [0x11n]).slice(2)}` as Hex;
    expect(decodeContractError(panic)!.message).toBe("The contract: Panic(code=17)");
  });

  it("says so, with the selector, for an error no Gotong contract declares", () => {
    const refusal = decodeContractError("0x12345678")!;
    expect(refusal.code).toBe("contract_revert");
    expect(refusal.errorName).toBeUndefined();
    expect(refusal.message).toBe("A contract: an error Gotong does not know, selector 0x12345678");
  });

  it("finds revert data in a wallet's JSON-RPC error, nested or not", () => {
    const data = encodeErrorResult({ abi: artifacts.QuadraticFundingArtifact.abi, errorName: "RoundNotFound", args: [9n] });
    expect(revertDataOf({ code: 3, message: "execution reverted", data })).toBe(data);
    expect(revertDataOf({ code: -32603, data: { data } })).toBe(data);
    expect(decodeContractError({ code: 3, data }, { what: "donate" })!.message).toBe("donate was refused by QuadraticFunding: RoundNotFound(roundId=9)");
  });

  it("returns undefined when there is no revert at all: a network error, an ABI decoding error", () => {
    expect(decodeContractError(new Error("fetch failed"))).toBeUndefined();
    expect(decodeContractError(new BaseError("HTTP request failed"))).toBeUndefined();
    const decoding = Object.assign(new BaseError("Data size of 3 bytes is too small", { name: "AbiDecodingDataSizeTooSmallError" }), { data: "0x12345678aa" });
    expect(decodeContractError(decoding)).toBeUndefined();
    expect(decodeContractError("0x")).toBeUndefined();
  });
});
