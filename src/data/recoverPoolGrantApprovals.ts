import { recoverTypedDataAddress, type Address } from "viem";
import { datasetGrantApprovalTypedData, grantFieldsOf, type DatasetPoolGrant } from "./datasetPoolGrant.ts";
import { datasetError } from "./errors.ts";

const HINT = "Collect the approvals again with `gotong data approve-grant REQUEST` and assemble them with `gotong data grant --request`.";

/**
 * The holders whose approvals of `grant` are genuine: every approval's EIP-712 signature must
 * recover to the holder it names, for this very grant (recipient, sealed key, pool and block), and
 * no holder may appear twice, so no one's shares are counted twice. Checks signatures only; what
 * the holders held is read on-chain by `checkPoolGrantApprovals`. Throws `dataset_grant_invalid`.
 *
 * @example const holders = await recoverPoolGrantApprovals(grant);
 */
export async function recoverPoolGrantApprovals(grant: DatasetPoolGrant): Promise<Address[]> {
  const typedData = datasetGrantApprovalTypedData({ ...grantFieldsOf(grant), pool: grant.pool, atBlock: grant.atBlock });
  const seen = new Set<string>();
  const holders: Address[] = [];
  for (const [i, approval] of grant.approvals.entries()) {
    const key = approval.holder.toLowerCase();
    if (seen.has(key)) throw datasetError("dataset_grant_invalid", `The grant lists ${approval.holder}'s approval twice: a holder's shares count once.`, { hint: HINT });
    seen.add(key);
    let signer: Address;
    try {
      signer = await recoverTypedDataAddress({ ...typedData, signature: approval.signature });
    } catch (cause) {
      throw datasetError("dataset_grant_invalid", `Approval ${i + 1} (${approval.holder}) has a signature that recovers to no account.`, { hint: HINT, cause });
    }
    if (signer.toLowerCase() !== key) {
      // Also what an approval of another grant (another trainer, sealed key, pool or block) looks
      // like: the typed data differs, so the signature recovers to some unrelated address.
      throw datasetError("dataset_grant_invalid", `Approval ${i + 1} is not ${approval.holder}'s approval of this grant: its signature recovers to ${signer}. It was forged, or signed for another recipient, sealed key, pool or block.`, { hint: HINT });
    }
    holders.push(approval.holder);
  }
  return holders;
}
