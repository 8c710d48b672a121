import { GotongError } from "../common/errors.ts";

/** The terms a creator asked for; undefined means "not given, keep what is registered". */
export type AskedTerms = { name?: string; license?: string; royaltyBps?: number };

/** The terms a registered model has: name and royalty from the registry, licence from its signed manifest when it is kept here. */
export type RegisteredTerms = { modelId: bigint; name: string; royaltyBps: number; license: string | undefined };

/**
 * Refuses republishing registered weights with terms that differ from the registered ones, instead
 * of silently keeping the old ones and exiting 0. Name and licence are fixed by the signed manifest
 * (the weights can be registered once); the royalty is the owner's to change, but by
 * `ModelRegistry.setRoyalty`, not by publishing again. Options left out are not compared.
 *
 * @example checkRepublishTerms({ royaltyBps: 2000 }, { modelId: 1n, name: "m", royaltyBps: 1000, license: "MIT" }); // throws model_terms_differ
 */
export function checkRepublishTerms(asked: AskedTerms, registered: RegisteredTerms): void {
  const differences: string[] = [];
  if (asked.name !== undefined && asked.name !== registered.name) differences.push(`name "${registered.name}" (you asked "${asked.name}")`);
  if (asked.license !== undefined && registered.license !== undefined && asked.license !== registered.license) {
    differences.push(`licence ${registered.license} (you asked ${asked.license})`);
  }
  if (asked.royaltyBps !== undefined && asked.royaltyBps !== registered.royaltyBps) differences.push(`royalty ${registered.royaltyBps} bps (you asked ${asked.royaltyBps})`);
  if (differences.length === 0) return;
  throw new GotongError(`These weights are already registered as model #${registered.modelId} with ${differences.join(", ")}; nothing was changed`, {
    code: "model_terms_differ",
    status: 409,
    hint:
      "Weights can be registered once, and their name and licence are part of the signed manifest. Leave out the options to keep the registered terms; " +
      `the owner can change the royalty for channels opened from now on with \`gotong model set-royalty ${registered.modelId} BPS\`; to publish under other terms, publish changed weights as a new model.`,
  });
}
