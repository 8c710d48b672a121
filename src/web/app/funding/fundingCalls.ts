import { encodeFunctionData, type Address, type Hex } from "viem";

/**
 * The QuadraticFunding calls the funding page sends, as the ABI the browser bundle carries (the
 * generated artifacts, with every contract's bytecode, are far too large to ship);
 * fundingCalls.test.ts checks each against the compiled contract.
 */
export const fundingPageAbi = [
  {
    type: "function",
    name: "createRound",
    stateMutability: "nonpayable",
    inputs: [
      {
        name: "params",
        type: "tuple",
        components: [
          { name: "token", type: "address" },
          { name: "applicationStart", type: "uint64" },
          { name: "applicationEnd", type: "uint64" },
          { name: "donationStart", type: "uint64" },
          { name: "donationEnd", type: "uint64" },
          { name: "matchingCapBps", type: "uint16" },
          { name: "usageWeightBps", type: "uint16" },
          { name: "donorCap", type: "uint128" },
          { name: "attestations", type: "address" },
          { name: "issuers", type: "address[]" },
        ],
      },
    ],
    outputs: [{ name: "roundId", type: "uint256" }],
  },
  { type: "function", name: "applyProject", stateMutability: "nonpayable", inputs: [{ name: "roundId", type: "uint256" }, { name: "modelId", type: "uint256" }], outputs: [{ name: "projectId", type: "uint256" }] },
  { type: "function", name: "fundPool", stateMutability: "nonpayable", inputs: [{ name: "roundId", type: "uint256" }, { name: "amount", type: "uint256" }], outputs: [{ name: "received", type: "uint256" }] },
  { type: "function", name: "finalize", stateMutability: "nonpayable", inputs: [{ name: "roundId", type: "uint256" }], outputs: [{ name: "allocated", type: "uint256" }] },
  { type: "function", name: "claim", stateMutability: "nonpayable", inputs: [{ name: "roundId", type: "uint256" }, { name: "projectId", type: "uint256" }, { name: "to", type: "address" }], outputs: [{ name: "amount", type: "uint256" }] },
] as const;

const ZERO: Address = "0x0000000000000000000000000000000000000000";

/** A round as the page creates it: open from the chain's `now`, applications and donations together, no attestation. */
export type NewRound = { token: string; now: bigint; donateForSeconds: bigint; matchingCapBps: number };

/** `createRound(params)`: applications and donations open at `now` and close together after the window. */
export function createRoundCall(round: NewRound): Hex {
  const end = round.now + round.donateForSeconds;
  return encodeFunctionData({
    abi: fundingPageAbi,
    functionName: "createRound",
    args: [{ token: round.token as Address, applicationStart: round.now, applicationEnd: end, donationStart: round.now, donationEnd: end, matchingCapBps: round.matchingCapBps, usageWeightBps: 0, donorCap: 0n, attestations: ZERO, issuers: [] }],
  });
}

/** `applyProject(roundId, modelId)`: modelId 0 applies as the sender's own address. */
export const applyProjectCall = (roundId: bigint, modelId: bigint): Hex => encodeFunctionData({ abi: fundingPageAbi, functionName: "applyProject", args: [roundId, modelId] });
/** `fundPool(roundId, amount)`. */
export const fundPoolCall = (roundId: bigint, amount: bigint): Hex => encodeFunctionData({ abi: fundingPageAbi, functionName: "fundPool", args: [roundId, amount] });
/** `finalize(roundId)`. */
export const finalizeCall = (roundId: bigint): Hex => encodeFunctionData({ abi: fundingPageAbi, functionName: "finalize", args: [roundId] });
/** `claim(roundId, projectId, to)`. */
export const claimCall = (roundId: bigint, projectId: bigint, to: string): Hex => encodeFunctionData({ abi: fundingPageAbi, functionName: "claim", args: [roundId, projectId, to as Address] });
