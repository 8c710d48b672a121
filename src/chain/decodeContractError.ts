import { BaseError, ContractFunctionRevertedError, decodeErrorResult, toFunctionSelector, type Abi, type Hex } from "viem";
import * as artifacts from "./contracts.generated.ts";
import { ContractRevertError } from "./errors.ts";

type AbiError = Extract<Abi[number], { type: "error" }>;
/** One error signature: each contract declaring it, with its ABI and its own declaration (parameter names can differ). */
type Declared = { item: AbiError; contracts: string[]; abis: (readonly unknown[])[]; items: AbiError[] };

/**
 * Every custom error of every Gotong contract, by selector, with the contracts that declare it.
 * Built from every artifact in contracts.generated.ts, so a contract error added in Solidity is
 * decoded as soon as the artifacts are regenerated (decodeContractError.test.ts checks each one).
 */
const declared: Map<Hex, Declared> = (() => {
  const table = new Map<Hex, Declared>();
  for (const artifact of Object.values(artifacts) as { contractName: string; abi: readonly unknown[] }[]) {
    for (const item of artifact.abi as Abi) {
      if (item.type !== "error") continue;
      const selector = toFunctionSelector(`${item.name}(${item.inputs.map(canonicalType).join(",")})`);
      const entry = table.get(selector) ?? { item, contracts: [], abis: [], items: [] };
      entry.contracts.push(artifact.contractName);
      entry.abis.push(artifact.abi as unknown[]);
      entry.items.push(item);
      table.set(selector, entry);
    }
  }
  return table;
})();

const errorsAbi = [...declared.values()].map((d) => d.item) as Abi;

/** A parameter's type as a selector spells it: a tuple as `(t1,t2)`. */
function canonicalType(param: { type: string; components?: readonly { type: string }[] }): string {
  if (!param.type.startsWith("tuple")) return param.type;
  return `(${(param.components ?? []).map(canonicalType).join(",")})${param.type.slice("tuple".length)}`;
}

/** A decoded value as a person reads it: integers and addresses as they are, bytes as hex. */
function show(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(show).join(", ")}]`;
  if (typeof value === "object" && value !== null) return `{${Object.entries(value).map(([k, v]) => `${k}: ${show(v)}`).join(", ")}}`;
  return typeof value === "string" && !value.startsWith("0x") ? JSON.stringify(value) : String(value);
}

/**
 * The revert data inside `error`: the hex itself, or what a viem error (or a wallet's JSON-RPC
 * error, `{ code: 3, data }`) carries somewhere along its causes. Undefined when there is none.
 */
export function revertDataOf(error: unknown): Hex | undefined {
  const isData = (d: unknown): d is Hex => typeof d === "string" && /^0x([0-9a-fA-F]{2}){4,}$/.test(d);
  if (isData(error)) return error;
  if (error instanceof BaseError) {
    const revert = error.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
    if (revert?.raw && isData(revert.raw)) return revert.raw;
  }
  // Any other shape: the first `data` (or `data.data`, as some wallets nest it) along the causes:
  // a JSON-RPC error's revert data. viem's ABI decoding errors also have a `data`, the bytes they
  // could not decode, which is no revert: skipped.
  for (let e = error as { name?: unknown; data?: unknown; cause?: unknown } | undefined, depth = 0; e && typeof e === "object" && depth < 10; e = e.cause as typeof e, depth++) {
    if (typeof e.name === "string" && /^(AbiDecoding|AbiEncoding|DecodeLog)/.test(e.name)) continue;
    if (isData(e.data)) return e.data;
    const nested = (e.data as { data?: unknown } | undefined)?.data;
    if (isData(nested)) return nested;
  }
  return undefined;
}

/**
 * Decodes a contract's refusal by name with its values, from revert data or from a viem (or
 * wallet) error: every custom error of every Gotong contract, plus Solidity's `Error(string)` and
 * `Panic(uint256)`. The message names the contract, the error and each argument, e.g.
 * `donate was refused by QuadraticFunding: DonationWindowClosed(roundId=3, now=…, start=…, end=…)`.
 *
 * @param input Revert data (`0x…`) or an error thrown by a contract call.
 * @param options.what What was attempted (`donate`), put before the refusal.
 * @param options.abi The ABI of the contract that was called: picks the contract's name when an
 *   error is declared by several (OpenZeppelin's, or `ZeroAmount()`).
 * @returns A {@link ContractRevertError} (`contract_revert`), or undefined when `input` holds no
 *   revert data (an RPC fault, a network error).
 *
 * @example
 * const refusal = decodeContractError(error, { what: "donate" });
 * if (refusal) throw refusal; // "donate was refused by QuadraticFunding: DonationWindowClosed(roundId=3, …)"
 */
export function decodeContractError(input: unknown, options: { what?: string; abi?: readonly unknown[] } = {}): ContractRevertError | undefined {
  const data = revertDataOf(input);
  if (!data) return undefined;
  const cause = typeof input === "string" ? undefined : input;
  // `donate was refused by QuadraticFunding: DonationWindowClosed(…)`, or without `what` `QuadraticFunding: DonationWindowClosed(…)`.
  const say = (who: string, refusal: string) => (options.what ? `${options.what} was refused by ${who}: ${refusal}` : `${who[0]!.toUpperCase()}${who.slice(1)}: ${refusal}`);
  const selector = data.slice(0, 10).toLowerCase() as Hex;
  const entry = declared.get(selector);
  let decoded: { errorName: string; args: readonly unknown[] };
  try {
    const result = decodeErrorResult({ abi: errorsAbi, data });
    decoded = { errorName: result.errorName, args: (result.args ?? []) as readonly unknown[] };
  } catch {
    // Not one of Gotong's errors (or its values do not decode): say so with the selector, the one thing left to look up.
    const who = entry ? entry.contracts.join(" or ") : "a contract";
    const refusal = entry ? `${entry.item.name}(…), with values that do not decode: ${data}` : `an error Gotong does not know, selector ${selector}`;
    return new ContractRevertError(say(who, refusal), { contract: entry ? who : undefined, errorName: entry?.item.name, args: [], data, refusal, cause });
  }
  if (decoded.errorName === "Error" || decoded.errorName === "Panic") {
    const reason = decoded.errorName === "Error" ? `Error(${JSON.stringify(String(decoded.args[0]))})` : `Panic(code=${String(decoded.args[0])})`;
    return new ContractRevertError(say("the contract", reason), { contract: undefined, errorName: decoded.errorName, args: decoded.args, data, refusal: reason, cause });
  }
  const { contracts, abis, items } = entry!;
  // The called contract when it declares the error; otherwise every declarer, since an ABI that
  // merges others' errors (the agent wallet's) cannot tell which contract down the call reverted.
  const called = options.abi ? abis.indexOf(options.abi as unknown[]) : -1;
  const contract = called >= 0 ? contracts[called]! : contracts.join(" or ");
  const item = items[Math.max(called, 0)]!;
  const values = item.inputs.map((input, i) => (input.name ? `${input.name}=${show(decoded.args[i])}` : show(decoded.args[i]))).join(", ");
  const refusal = `${decoded.errorName}(${values})`;
  return new ContractRevertError(say(contract, refusal), { contract, errorName: decoded.errorName, args: decoded.args, data, refusal, cause });
}

/** Every custom error the decoder knows, with the contracts that declare it (for tests and tools). */
export function listContractErrors(): { selector: Hex; name: string; contracts: string[] }[] {
  return [...declared].map(([selector, d]) => ({ selector, name: d.item.name, contracts: [...d.contracts] }));
}
