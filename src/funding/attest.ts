import { keccak256, toHex, type Address, type Hex } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { AttestationRegistryArtifact } from "../chain/contracts.generated.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";

/**
 * Attests, as the caller (an issuer), that each account belongs to an identity, in one
 * transaction. Without `uid`, each account is its own identity (an allow-list); give several
 * accounts the same `uid` when they are one person, so a round counts them as one donor.
 *
 * @example await attest(issuer, deployment, { subjects: [alice, bob] });
 */
export async function attest(
  clients: ChainClients,
  deployment: Deployment,
  options: { subjects: Address[]; uid?: Hex; expiresAt?: bigint },
): Promise<void> {
  const registry = deployment.attestationRegistry;
  if (!registry) throw new GotongError("This deployment has no attestation registry", { code: "funding_unavailable" });
  if (options.subjects.length === 0) throw new GotongError("No account to attest", { code: "invalid_arguments" });
  const uids = options.subjects.map((subject) => options.uid ?? keccak256(toHex(`gotong:allow-list:${subject.toLowerCase()}`)));
  await writeAndWait(clients, {
    address: registry,
    abi: AttestationRegistryArtifact.abi,
    functionName: "attestBatch",
    args: [options.subjects, uids, options.expiresAt ?? 0n],
  });
}
