import type { Address } from "viem";
import type { ChainClients } from "../../../chain/createClients.ts";
import type { Logger } from "../../../common/logger.ts";
import type { ProviderStore } from "../../createProviderStore.ts";
import type { ExactSettlement } from "../createExactSettlement.ts";
import { createBatchChannels } from "./createBatchChannels.ts";
import { createBatchRedeemer, type BatchRedeemer } from "./createBatchRedeemer.ts";
import { createBatchSettlementPayments, type BatchSettlementPayments } from "./createBatchSettlementPayments.ts";
import { hasBatchSettlement } from "../../../chain/installBatchSettlement.ts";

/** A provider's running batch-settlement: its door and its redeemer. */
export type RunningBatchSettlement = { payments: BatchSettlementPayments; redeemer: BatchRedeemer };

/**
 * Sets up `batch-settlement` for a provider where the canonical contracts are on its chain (else
 * undefined, and the provider offers `exact` only): the channel book in the provider's store, the
 * door, and the redeemer (started).
 *
 * @example const batch = await startBatchSettlement({ clients, settlement, store, splitter, logger });
 */
export async function startBatchSettlement(options: {
  clients: ChainClients;
  settlement: ExactSettlement;
  store: ProviderStore;
  splitter: Address;
  logger: Logger;
  redeemIntervalMs?: number;
}): Promise<RunningBatchSettlement | undefined> {
  const { clients, settlement, store, logger } = options;
  if (!(await hasBatchSettlement(clients.public))) {
    logger.info("x402 batch-settlement is off: its contracts are not at the canonical addresses on this chain");
    return undefined;
  }
  const channels = createBatchChannels(store);
  const redeemer = createBatchRedeemer({ clients, splitter: options.splitter, store, channels, logger, intervalMs: options.redeemIntervalMs, send: settlement.send });
  const payments = createBatchSettlementPayments({
    clients,
    settlement,
    store,
    channels,
    logger,
    onWithdrawalPending: () => void redeemer.redeem().catch((error: Error) => logger.warn("x402 batch redeem for a withdrawing payer failed; it is tried again next run", { error: error.message })),
  });
  redeemer.start();
  return { payments, redeemer };
}
