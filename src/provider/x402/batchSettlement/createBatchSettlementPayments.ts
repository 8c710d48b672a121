import type { IncomingMessage } from "node:http";
import { erc20Abi, getAddress, hashTypedData, hexToBytes, isAddressEqual, recoverTypedDataAddress, zeroAddress, type Address, type Hex } from "viem";
import { createSignatureChecker } from "../../../payments/createSignatureChecker.ts";
import type { ChainClients } from "../../../chain/createClients.ts";
import { X402BatchSettlementArtifact } from "../../../chain/contracts.generated.ts";
import { ContractRevertError } from "../../../chain/errors.ts";
import { writeAndWait } from "../../../chain/writeAndWait.ts";
import { GotongError } from "../../../common/errors.ts";
import type { Logger } from "../../../common/logger.ts";
import {
  BATCH_ERROR_REASONS,
  BATCH_SETTLEMENT_ADDRESS,
  BATCH_SETTLEMENT_SCHEME,
  batchSettlementDomain,
  computeChannelId,
  depositNonce,
  ERC3009_DEPOSIT_COLLECTOR_ADDRESS,
  erc3009CollectorData,
  MIN_WITHDRAW_DELAY,
  parseBatchPayload,
  RECEIVE_WITH_AUTHORIZATION_TYPES,
  toContractConfig,
  VOUCHER_TYPES,
  type BatchPayload,
} from "../../../protocol/x402/batchSettlement.ts";
import { encodeX402Header } from "../../../protocol/x402/x402Codec.ts";
import { X402_ERROR_REASONS } from "../../../protocol/x402/x402ErrorReasons.ts";
import { X402_HEADERS, X402_VERSION, type PaymentPayload, type PaymentRequired, type PaymentRequirements, type SettlementResponse } from "../../../protocol/x402/x402Types.ts";
import type { Authorization } from "../../createPaymentGuard.ts";
import type { ProviderStore } from "../../createProviderStore.ts";
import type { OpenedRequest } from "../../serveEmbeddings.ts";
import type { ExactSettlement } from "../createExactSettlement.ts";
import { SETTLEMENT_MARGIN_SECONDS } from "../verifyExactPayment.ts";
import { x402Refusal } from "../x402Refusal.ts";
import type { BatchChannels } from "./createBatchChannels.ts";

/** The provider's `batch-settlement` door: its `accepts` entry, and the payment of a request that chose it. */
export type BatchSettlementPayments = {
  /** The `accepts` entry for a request whose worst case is `maxCost`. */
  requirements(modelId: bigint, maxCost: bigint): Promise<PaymentRequirements>;
  /**
   * Takes a `batch-settlement` payment (already decoded from `PAYMENT-SIGNATURE`): a deposit is
   * submitted and mined before the request runs, a voucher on a funded channel costs no
   * transaction. `required` is the 402 this request would get (every scheme's `accepts`).
   */
  authorize(req: IncomingMessage, opened: OpenedRequest, maxCost: bigint, payment: PaymentPayload, required: PaymentRequired): Promise<Authorization>;
  /** `PAYMENT-RESPONSE` of a request `authorize` admitted: with its charge once its receipt is written. */
  responseHeaders(requestId: Hex): Record<string, string>;
};

export type BatchSettlementPaymentsOptions = {
  clients: ChainClients;
  /** The exact settlement core: network, token, domain, fee and the X402Splitter payees (the channels' receivers). */
  settlement: ExactSettlement;
  store: ProviderStore;
  channels: BatchChannels;
  logger: Logger;
  /** The withdraw delay a channel must have, in seconds (`extra.withdrawDelay`). Default 900, the least allowed. */
  withdrawDelay?: number;
  /** `maxTimeoutSeconds` of the requirements. Default 120. */
  maxTimeoutSeconds?: number;
  /**
   * Called when a request on a channel whose payer asked to withdraw has been charged: its charge
   * must be claimed before the withdraw delay ends (the redeemer's `redeem`).
   */
  onWithdrawalPending?: (channelId: Hex) => void;
};

const readAbi = [
  { type: "function", name: "authorizationState", stateMutability: "view", inputs: [{ type: "address" }, { type: "bytes32" }], outputs: [{ type: "bool" }] },
] as const;

type Admitted = { channelId: Hex; payer: Address; deposit?: { amount: bigint; transaction: Hex }; balance: bigint; totalClaimed: bigint; withdrawing: boolean };

/**
 * Creates the `batch-settlement` door. The mapping onto Gotong: the channel's `receiver` is the
 * X402Splitter payee of (provider, model), so whatever the contract settles to it is split as a
 * voucher redeem is; the `receiverAuthorizer` is the provider's key (it signs the claim batches);
 * a request is admitted on a voucher for exactly the cumulative amount charged so far plus this
 * request's worst case, one request per channel at a time, and is charged its actual cost (the
 * receipt's), which `PAYMENT-RESPONSE` reports as `chargedAmount` and
 * `channelState.chargedCumulativeAmount`.
 *
 * @example const batch = createBatchSettlementPayments({ clients, settlement, store, channels, logger });
 */
export function createBatchSettlementPayments(options: BatchSettlementPaymentsOptions): BatchSettlementPayments {
  const { clients, settlement, store, channels, logger } = options;
  const { network, token, domain, provider, chainId, feeBps } = settlement;
  const withdrawDelay = options.withdrawDelay ?? MIN_WITHDRAW_DELAY;
  const maxTimeoutSeconds = options.maxTimeoutSeconds ?? 120;
  const admitted = new Map<Hex, Admitted>();
  const signatures = createSignatureChecker();

  const requirements = async (modelId: bigint, maxCost: bigint): Promise<PaymentRequirements> => ({
    scheme: BATCH_SETTLEMENT_SCHEME,
    network,
    amount: maxCost.toString(),
    asset: token,
    payTo: await settlement.payeeOf(modelId),
    maxTimeoutSeconds,
    extra: { name: domain.name, version: domain.version, receiverAuthorizer: provider, withdrawDelay },
  });

  const readChannel = async (channelId: Hex) => {
    const [[balance, totalClaimed], [, withdrawRequestedAt], refundNonce] = await Promise.all([
      clients.public.readContract({ address: BATCH_SETTLEMENT_ADDRESS, abi: X402BatchSettlementArtifact.abi, functionName: "channels", args: [channelId] }),
      clients.public.readContract({ address: BATCH_SETTLEMENT_ADDRESS, abi: X402BatchSettlementArtifact.abi, functionName: "pendingWithdrawals", args: [channelId] }),
      clients.public.readContract({ address: BATCH_SETTLEMENT_ADDRESS, abi: X402BatchSettlementArtifact.abi, functionName: "refundNonce", args: [channelId] }),
    ]);
    return { balance, totalClaimed, withdrawRequestedAt: Number(withdrawRequestedAt), refundNonce };
  };

  const channelState = (channelId: Hex, onchain: { balance: bigint; totalClaimed: bigint; withdrawRequestedAt?: number; refundNonce?: bigint }, charged?: bigint) => ({
    channelId,
    balance: onchain.balance.toString(),
    totalClaimed: onchain.totalClaimed.toString(),
    withdrawRequestedAt: onchain.withdrawRequestedAt ?? 0,
    refundNonce: (onchain.refundNonce ?? 0n).toString(),
    ...(charged === undefined ? {} : { chargedCumulativeAmount: charged.toString() }),
  });

  /** Checks everything that needs no chain state, in the published facilitator's order. */
  const checkPayload = async (payment: PaymentPayload, mine: PaymentRequirements, path: string): Promise<{ ok: true; payload: BatchPayload; channelId: Hex } | { ok: false; reason: string; message: string }> => {
    const no = (reason: string, message: string) => ({ ok: false as const, reason, message });
    if (payment.x402Version !== X402_VERSION) return no(X402_ERROR_REASONS.x402Version, `x402Version ${payment.x402Version} is not supported; this server speaks ${X402_VERSION}`);
    const accepted = payment.accepted;
    if (accepted.network !== network) return no(BATCH_ERROR_REASONS.networkMismatch, `The payment is for network ${accepted.network}; this server is paid on ${network}`);
    if (payment.resource) {
      let paidPath: string | undefined;
      try {
        paidPath = new URL(payment.resource.url).pathname.replace(/\/+$/, "") || "/";
      } catch {
        paidPath = undefined;
      }
      if (paidPath !== path) return no(X402_ERROR_REASONS.paymentRequirements, `The payment is for the resource ${payment.resource.url}, not ${path}`);
    }
    const parsed = parseBatchPayload(payment.payload);
    if (!parsed.ok) return no("wrongType" in parsed ? BATCH_ERROR_REASONS.payloadType : X402_ERROR_REASONS.payload, `The batch-settlement payload is malformed: ${parsed.problem}`);
    const payload = parsed.value;
    const config = payload.channelConfig;
    const channelId = computeChannelId(config, chainId);
    if (channelId.toLowerCase() !== payload.voucher.channelId.toLowerCase()) return no(BATCH_ERROR_REASONS.channelIdMismatch, `The voucher's channel ${payload.voucher.channelId} is not its config's ${channelId}`);
    if (!isAddressEqual(config.receiver, mine.payTo as Address) || !/^0x[0-9a-fA-F]{40}$/.test(accepted.payTo) || !isAddressEqual(accepted.payTo as Address, mine.payTo as Address)) {
      return no(BATCH_ERROR_REASONS.receiverMismatch, `The channel pays ${config.receiver}; this request's payTo is ${mine.payTo}`);
    }
    if (!isAddressEqual(config.receiverAuthorizer, provider)) return no(BATCH_ERROR_REASONS.receiverAuthorizerMismatch, `The channel's receiverAuthorizer is ${config.receiverAuthorizer}, not ${provider}`);
    if (!isAddressEqual(config.token, token) || !/^0x[0-9a-fA-F]{40}$/.test(accepted.asset) || !isAddressEqual(accepted.asset as Address, token)) {
      return no(BATCH_ERROR_REASONS.tokenMismatch, `The payment is in ${accepted.asset} (channel token ${config.token}); this server is paid in ${token}`);
    }
    if (config.withdrawDelay !== withdrawDelay) return no(BATCH_ERROR_REASONS.withdrawDelayMismatch, `The channel's withdrawDelay is ${config.withdrawDelay} s; this server's is ${withdrawDelay} s`);
    if (accepted.amount !== mine.amount) return no(X402_ERROR_REASONS.paymentRequirements, `The payment accepted ${accepted.amount} base units for this request; it costs at most ${mine.amount}`);
    const voucherSigner = isAddressEqual(config.payerAuthorizer, zeroAddress) ? config.payer : config.payerAuthorizer;
    // Every request carries a voucher: checked against the signer's cached key (libsecp256k1), as
    // Gotong's own vouchers are; the signer is recovered (slowly) only to say who signed a bad one.
    const voucher = { domain: batchSettlementDomain(chainId), types: VOUCHER_TYPES, primaryType: "Voucher", message: { channelId, maxClaimableAmount: BigInt(payload.voucher.maxClaimableAmount) } } as const;
    if (!signatures.isSignedBy(hexToBytes(hashTypedData(voucher)), payload.voucher.signature, voucherSigner)) {
      const signer = await recoverTypedDataAddress({ ...voucher, signature: payload.voucher.signature }).catch(() => undefined);
      return no(BATCH_ERROR_REASONS.voucherSignature, `The voucher is signed by ${signer ?? "nobody"}, not by ${voucherSigner}`);
    }
    if (payload.type === "deposit") {
      const auth = payload.deposit.authorization.erc3009Authorization;
      const now = BigInt(Math.floor(Date.now() / 1000));
      if (BigInt(auth.validBefore) < now + SETTLEMENT_MARGIN_SECONDS) return no(BATCH_ERROR_REASONS.validBefore, `The deposit's authorization expires at ${auth.validBefore}; it is now ${now}, too late to submit it`);
      if (BigInt(auth.validAfter) >= now) return no(BATCH_ERROR_REASONS.validAfter, `The deposit's authorization is valid only after ${auth.validAfter}; it is now ${now}`);
      let depositor: Address | undefined;
      try {
        depositor = await recoverTypedDataAddress({
          domain: { name: domain.name, version: domain.version, chainId, verifyingContract: token },
          types: RECEIVE_WITH_AUTHORIZATION_TYPES,
          primaryType: "ReceiveWithAuthorization",
          message: {
            from: getAddress(config.payer),
            to: ERC3009_DEPOSIT_COLLECTOR_ADDRESS,
            value: BigInt(payload.deposit.amount),
            validAfter: BigInt(auth.validAfter),
            validBefore: BigInt(auth.validBefore),
            nonce: depositNonce(channelId, auth.salt),
          },
          signature: auth.signature,
        });
      } catch {
        depositor = undefined;
      }
      if (!depositor || !isAddressEqual(depositor, config.payer)) {
        return no(BATCH_ERROR_REASONS.receiveAuthorizationSignature, `The deposit's authorization is signed by ${depositor ?? "nobody"}, not by its payer ${config.payer} (for chain ${chainId} and token ${token})`);
      }
    }
    return { ok: true, payload, channelId };
  };

  return {
    requirements,
    async authorize(req, opened, maxCost, payment, required) {
      const path = new URL(req.url ?? "/", "http://localhost").pathname.replace(/\/+$/, "") || "/";
      const modelId = opened.model.modelId;
      const mine = await requirements(modelId, maxCost);
      const checked = await checkPayload(payment, mine, path);
      if (!checked.ok) throw x402Refusal(required, checked.reason, checked.message);
      const { payload, channelId } = checked;
      const config = payload.channelConfig;
      const payer = getAddress(config.payer);
      const voucherAmount = BigInt(payload.voucher.maxClaimableAmount);
      const depositAmount = payload.type === "deposit" ? BigInt(payload.deposit.amount) : 0n;
      const onchain = await readChannel(channelId);
      if (payload.type === "deposit") {
        const auth = payload.deposit.authorization.erc3009Authorization;
        const [used, payerBalance] = await Promise.all([
          clients.public.readContract({ address: token, abi: readAbi, functionName: "authorizationState", args: [payer, depositNonce(channelId, auth.salt)] }),
          clients.public.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [payer] }),
        ]);
        if (used) throw x402Refusal(required, BATCH_ERROR_REASONS.depositSimulationFailed, `The deposit's authorization (nonce ${depositNonce(channelId, auth.salt)}) was already used by ${payer}`);
        if (payerBalance < depositAmount) throw x402Refusal(required, BATCH_ERROR_REASONS.insufficientBalance, `${payer} holds ${payerBalance} base units, less than the deposit of ${depositAmount}`);
      } else if (onchain.balance === 0n) {
        throw x402Refusal(required, BATCH_ERROR_REASONS.channelNotFound, `The channel ${channelId} holds no deposit`);
      }
      if (voucherAmount > onchain.balance + depositAmount) {
        throw x402Refusal(required, BATCH_ERROR_REASONS.cumulativeExceedsBalance, `The voucher is for ${voucherAmount}; the channel holds ${onchain.balance + depositAmount}`);
      }

      // From here to the reservation nothing awaits: the channel's charge is read and its one
      // request slot taken in one turn, so overlapping requests can never both pass.
      const charged = store.getChannel(channelId, 0n).owed;
      const held = channels.get(channelId);
      const base = charged > onchain.totalClaimed ? charged : onchain.totalClaimed;
      if (voucherAmount !== base + maxCost) {
        // The corrective 402: the server's charge and the latest voucher it holds (the client's own
        // signature), so the published client resyncs and signs again.
        const corrective = required.accepts.map((a) =>
          a.scheme !== BATCH_SETTLEMENT_SCHEME
            ? a
            : {
                ...a,
                extra: {
                  ...a.extra,
                  channelState: channelState(channelId, onchain, base),
                  ...(held && held.maxClaimableAmount >= base ? { voucherState: { signedMaxClaimable: held.maxClaimableAmount.toString(), signature: held.signature } } : {}),
                },
              },
        );
        const reason = voucherAmount <= onchain.totalClaimed ? BATCH_ERROR_REASONS.cumulativeBelowClaimed : BATCH_ERROR_REASONS.cumulativeAmountMismatch;
        throw x402Refusal(required, reason, `The voucher is for ${voucherAmount}; this channel has been charged ${base}, and this request costs at most ${maxCost}, so it must be for ${base + maxCost}`, { accepts: corrective });
      }
      if (!channels.take(channelId)) throw x402Refusal(required, BATCH_ERROR_REASONS.channelBusy, `A request is already running on the channel ${channelId}; send the next one when it has answered`);
      if (!store.reserveRequest(opened.requestId, channelId)) {
        channels.free(channelId);
        throw new GotongError(`Request id ${opened.requestId} was already used`, { code: "request_id_reused", status: 409, hint: "Send a new request with a new id." });
      }
      let deposit: Admitted["deposit"];
      let royaltyBps: number;
      try {
        royaltyBps = await settlement.royaltyBpsOf(modelId);
        if (payload.type === "deposit") {
          await store.durable();
          const auth = payload.deposit.authorization.erc3009Authorization;
          try {
            const { hash } = await settlement.send(() =>
              writeAndWait(clients, {
                address: BATCH_SETTLEMENT_ADDRESS,
                abi: X402BatchSettlementArtifact.abi,
                functionName: "deposit",
                args: [toContractConfig(config), depositAmount, ERC3009_DEPOSIT_COLLECTOR_ADDRESS, erc3009CollectorData(auth)],
              }),
            );
            deposit = { amount: depositAmount, transaction: hash };
          } catch (error) {
            const message = error instanceof ContractRevertError ? error.message : (error as Error).message;
            logger.warn("x402 batch deposit failed", { payer, error: message });
            throw x402Refusal(required, BATCH_ERROR_REASONS.depositTransactionFailed, message, {
              failed: { success: false, errorReason: BATCH_ERROR_REASONS.depositTransactionFailed, transaction: "", network, payer },
            });
          }
          logger.info("x402 batch deposit", { payer, channel: channelId.slice(0, 10), amount: depositAmount, tx: deposit.transaction });
        }
        // The voucher is on disk before the request runs: whatever it is charged can be claimed after a crash.
        channels.hold({ channelId, config, maxClaimableAmount: voucherAmount, signature: payload.voucher.signature, modelId, claimed: onchain.totalClaimed });
        await store.durable();
      } catch (error) {
        store.releaseRequest(opened.requestId);
        channels.free(channelId);
        throw error;
      }
      const balance = onchain.balance + depositAmount;
      admitted.set(opened.requestId, { channelId, payer, deposit, balance, totalClaimed: onchain.totalClaimed, withdrawing: onchain.withdrawRequestedAt !== 0 });
      return {
        // The channel as the provider's books see it: its deposit, what is claimed, and the split rates now.
        channel: { sender: payer, provider, modelId, deposit: balance, redeemed: onchain.totalClaimed, royaltyBps, feeBps, epoch: 0n, closesAt: 0n },
        channelId,
        epoch: 0n,
        release: () => {
          const request = admitted.get(opened.requestId);
          if (!request) return;
          admitted.delete(opened.requestId);
          channels.free(channelId);
          // The payer can take the unclaimed balance once its withdraw delay passes: claim now, not at the next run.
          if (request.withdrawing) options.onWithdrawalPending?.(channelId);
        },
      };
    },
    responseHeaders(requestId): Record<string, string> {
      const request = admitted.get(requestId);
      if (!request) return {};
      const receipt = store.getReceipt(requestId);
      const onchain = { balance: request.balance, totalClaimed: request.totalClaimed };
      // Before the receipt (a stream's headers go out first) the charge is not known: the response says
      // nothing of it, and the client's next voucher is put right by the corrective 402.
      const charge = receipt ? { chargedAmount: receipt.cost.toString() } : {};
      const response: SettlementResponse & { extra: Record<string, unknown> } = {
        success: true,
        // A voucher moves nothing now: its commitment identifier is the channel; a deposit's is its transaction.
        transaction: request.deposit?.transaction ?? request.channelId,
        network,
        payer: request.payer,
        ...(receipt ? { amount: receipt.cost.toString() } : {}),
        extra: { ...charge, channelState: channelState(request.channelId, onchain, receipt?.cumulativeOwed) },
      };
      return { [X402_HEADERS.paymentResponse]: encodeX402Header(response) };
    },
  };
}
