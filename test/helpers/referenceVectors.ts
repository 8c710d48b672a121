import { encodeAbiParameters } from "viem";
import { computeMatches } from "../../src/funding/computeMatches.ts";
import { tallyOf } from "../../src/funding/tally.ts";

/**
 * Random rounds with the matches the TypeScript reference computes for them, for the Foundry suite
 * to replay against the contract (`contracts/test/QuadraticFunding.reference.t.sol`): Forge runs
 * offline without `ffi` here, so the reference's answers travel as generated test data, kept in
 * sync by `referenceVectors.test.ts`.
 *
 * Each round has two model projects (the fixture's two models) then `labs` address projects;
 * donations name a project and one of 5 donors; payments (only in rounds that weigh usage) name one
 * of the 2 models and one of 4 payers.
 */
export type ReferenceVector = {
  matchingCapBps: number;
  usageWeightBps: number;
  donorCap: bigint;
  pool: bigint;
  labs: number;
  donations: { project: number; donor: number; amount: bigint }[];
  payments: { model: number; payer: number; amount: bigint }[];
  donationMatches: bigint[];
  usageMatches: bigint[];
  unallocated: bigint;
};

/** A tiny deterministic generator (SplitMix64), so the vectors never change with a library version. */
function random(seed: bigint) {
  let state = seed & 0xffff_ffff_ffff_ffffn;
  const next = (): bigint => {
    state = (state + 0x9e37_79b9_7f4a_7c15n) & 0xffff_ffff_ffff_ffffn;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58_476d_1ce4_e5b9n) & 0xffff_ffff_ffff_ffffn;
    z = ((z ^ (z >> 27n)) * 0x94d0_49bb_1331_11ebn) & 0xffff_ffff_ffff_ffffn;
    return z ^ (z >> 31n);
  };
  /** An integer in [min, max]. */
  const int = (min: bigint, max: bigint) => min + ((next() << 64n) | next()) % (max - min + 1n);
  /** An amount in [1, 10^digits], with a digit count drawn first so small and huge amounts both occur. */
  const amount = (maxDigits: number) => int(1n, 10n ** int(0n, BigInt(maxDigits)));
  return { int, amount, chance: (percent: number) => int(0n, 99n) < BigInt(percent) };
}

/**
 * `count` rounds from `seed`, each with the reference's matches.
 *
 * @example const vectors = generateReferenceVectors(1n, 32);
 */
export function generateReferenceVectors(seed: bigint, count: number): ReferenceVector[] {
  const r = random(seed);
  const vectors: ReferenceVector[] = [];
  for (let i = 0; i < count; i++) {
    const labs = Number(r.int(0n, 3n));
    const projects = 2 + labs;
    const usageWeightBps = r.chance(50) ? Number(r.int(0n, 10_000n)) : 0;
    const v = {
      matchingCapBps: r.chance(40) ? Number(r.int(1n, 10_000n)) : 10_000,
      usageWeightBps,
      donorCap: r.chance(25) ? r.amount(13) : 0n,
      pool: r.chance(10) ? 0n : r.amount(27),
      labs,
      donations: Array.from({ length: Number(r.int(0n, 20n)) }, () => ({ project: Number(r.int(0n, BigInt(projects - 1))), donor: Number(r.int(0n, 4n)), amount: r.amount(24) })),
      payments: usageWeightBps === 0 ? [] : Array.from({ length: Number(r.int(0n, 8n)) }, () => ({ model: Number(r.int(0n, 1n)), payer: Number(r.int(0n, 3n)), amount: r.amount(12) })),
    };
    const donated = Array.from({ length: projects }, () => new Map<number, bigint>());
    for (const d of v.donations) donated[d.project]!.set(d.donor, (donated[d.project]!.get(d.donor) ?? 0n) + d.amount);
    const used = Array.from({ length: projects }, () => new Map<number, bigint>());
    for (const p of v.payments) used[p.model]!.set(p.payer, (used[p.model]!.get(p.payer) ?? 0n) + p.amount);
    const result = computeMatches({
      pool: v.pool,
      matchingCapBps: v.matchingCapBps,
      usageWeightBps: v.usageWeightBps,
      projects: donated.map((m, p) => ({ donations: tallyOf(m.values(), v.donorCap), usage: tallyOf(used[p]!.values(), v.donorCap) })),
    });
    vectors.push({
      ...v,
      donationMatches: result.projects.map((p) => p.donationMatch),
      usageMatches: result.projects.map((p) => p.usageMatch),
      unallocated: result.unallocated,
    });
  }
  return vectors;
}

/** The ABI type of the vectors, as the Solidity test declares them. */
const VECTOR_ABI = [
  {
    type: "tuple[]",
    components: [
      { name: "matchingCapBps", type: "uint16" },
      { name: "usageWeightBps", type: "uint16" },
      { name: "donorCap", type: "uint128" },
      { name: "pool", type: "uint256" },
      { name: "labs", type: "uint8" },
      { name: "donations", type: "tuple[]", components: [{ name: "project", type: "uint8" }, { name: "donor", type: "uint8" }, { name: "amount", type: "uint256" }] },
      { name: "payments", type: "tuple[]", components: [{ name: "model", type: "uint8" }, { name: "payer", type: "uint8" }, { name: "amount", type: "uint256" }] },
      { name: "donationMatches", type: "uint256[]" },
      { name: "usageMatches", type: "uint256[]" },
      { name: "unallocated", type: "uint256" },
    ],
  },
] as const;

/** The generated Solidity library holding the vectors, ABI-encoded. */
export function renderReferenceVectors(vectors: ReferenceVector[], seed: bigint): string {
  const encoded = encodeAbiParameters(VECTOR_ABI, [vectors]);
  const lines = encoded.slice(2).match(/.{1,128}/g)!;
  return [
    "// SPDX-License-Identifier: Apache-2.0",
    "// Generated by test/helpers/referenceVectors.ts from the TypeScript reference maths. Do not edit.",
    "// Regenerate with `GOTONG_UPDATE_VECTORS=1 npx vitest run src/funding/referenceVectors.test.ts`.",
    "pragma solidity ^0.8.24;",
    "",
    `/// @notice ${vectors.length} random rounds (seed ${seed}) and the matches src/funding/computeMatches.ts gives them,`,
    "///         ABI-encoded as `Vector[]` (see QuadraticFunding.reference.t.sol).",
    "library ReferenceVectors {",
    "    /// @notice The encoded vectors.",
    "    function data() internal pure returns (bytes memory) {",
    "        return",
    ...lines.map((line, i) => `            hex"${line}"${i === lines.length - 1 ? ";" : ""}`),
    "    }",
    "}",
    "",
  ].join("\n");
}
