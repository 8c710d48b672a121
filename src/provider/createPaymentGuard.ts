import { type Address, type Hex, type PublicClient, BaseError, ContractFunctionRevertedError, ContractFunctionZeroDataError, ExecutionRevertedError, bytesToHex, encodeFunctionData, isAddressEqual, zeroAddress } from "viem";
import { GotongError } from "../common/errors.ts";
import { paymentRefusedError, type PaymentsErrorCode } from "../payments/errors.ts";
import type { OnchainChannel } from "../payments/readChannel.ts";
import { createPaymentVerifier } from "../payments/createPaymentVerifier.ts";
import { domainSeparator, voucherDigest } from "../payments/typedDigest.ts";
import { type SignedVoucher, type VoucherDomain, decodeVoucherHeader } from "../protocol/voucher.ts";
import { HEADERS } from "../protocol/wire.ts";
import type { ChannelState, ProviderStore } from "./createProviderStore.ts";

/** A payment authorised for one request: the channel, and the deposit reserved while it runs. */
export type Authorization = { channel: OnchainChannel; channelId: Hex; epoch: bigint; release(): void };

export type PaymentGuardOptions = {
  provider: Address;
  domain: VoucherDomain;
  store: ProviderStore;
  readChannel(channelId: Hex): Promise<OnchainChannel>;
  /** How long an on-chain channel read is trusted before it is read again. Default 5 s. */
  channelCacheMs?: number;
  /** Requests one channel may have in flight at once; beyond that, 429. Default 16. */
  maxInFlightPerChannel?: number;
  /**
   * The provider's chain client. With it, a voucher whose ECDSA check fails is checked through the
   * sender's ERC-1271 `isValidSignature` when the sender is a contract (an agent wallet). Without
   * it, only vouchers signed by the sender's own key are accepted.
   */
  client?: PublicClient;
  now?: () => number;
};

function paymentError(message: string, code: PaymentsErrorCode, hint?: string, status = 402): GotongError {
  return paymentRefusedError(code, message, { hint, status });
}

/**
 * Decides whether a request is paid for. The rule: a request is served only with a valid voucher for
 * everything served before it on the channel, and only when the deposit still covers the most this
 * request can cost on top of every request in flight. So the most a vanished client can cost the
 * provider is one request, and the voucher is committed to disk before any token is generated.
 */
export function createPaymentGuard(options: PaymentGuardOptions) {
  const cache = new Map<Hex, { channel: OnchainChannel; at: number }>();
  const reserved = new Map<Hex, bigint>();
  const inFlightCount = new Map<Hex, number>();
  const maxPerChannel = options.maxInFlightPerChannel ?? 16;
  const ttl = options.channelCacheMs ?? 5_000;
  const now = options.now ?? Date.now;
  const verifier = createPaymentVerifier(options.domain);
  const contractSignatures = createContractSignatureCheck(options.client, options.domain);
  // The chain's clock decides when a challenge period ends (a devnet's may run ahead of ours).
  const chainNow = async (): Promise<bigint> => {
    if (!options.client) return BigInt(Math.floor(now() / 1000));
    return (await options.client.getBlock({ blockTag: "latest" })).timestamp;
  };

  const channelFor = async (channelId: Hex, voucher: SignedVoucher): Promise<OnchainChannel> => {
    const hit = cache.get(channelId);
    // Read again when stale, or when the voucher suggests the chain moved (top-up, new epoch).
    if (hit && now() - hit.at < ttl && hit.channel.epoch === voucher.epoch && voucher.cumulativeAmount <= hit.channel.deposit) {
      return hit.channel;
    }
    const channel = await options.readChannel(channelId);
    cache.set(channelId, { channel, at: now() });
    return channel;
  };

  /** A voucher must pay for every request already served on its channel. */
  const checkCovers = (voucher: SignedVoucher, state: ChannelState) => {
    if (voucher.cumulativeAmount < state.owed) {
      throw new GotongError(`The voucher pays ${voucher.cumulativeAmount} but ${state.owed} is owed for requests already served on this channel`, {
        code: "voucher_below_owed",
        hint: "Sign a voucher for the cumulative cost of every receipt received; fetch missing receipts from /gotong/receipts/ID.",
        status: 402,
      });
    }
  };

  /**
   * The admission rule for a request on a channel, read in one turn: the voucher pays for everything
   * served; the channel is open; at most one request per channel is unpaid (everything served and in
   * flight is covered by a voucher already); the deposit covers this request's worst case on top.
   */
  const admit = (voucher: SignedVoucher, channel: OnchainChannel, maxCost: bigint) => {
    const state = options.store.getChannel(voucher.channelId, voucher.epoch);
    checkCovers(voucher, state);
    if (channel.closesAt !== 0n) throw paymentError(`Channel ${voucher.channelId} is closing`, "channel_closing", "Open a new channel once it has closed.");
    const running = inFlightCount.get(voucher.channelId) ?? 0;
    if (running >= maxPerChannel) {
      // One client flooding must not starve the others: its excess is refused fast, before any work.
      throw new GotongError(`Channel ${voucher.channelId} already has ${running} requests in flight`, { code: "too_many_requests", status: 429, retryable: true, hint: "Wait for answers before sending more." });
    }
    const inFlight = reserved.get(voucher.channelId) ?? 0n;
    const held = state.voucher && state.voucher.cumulativeAmount > voucher.cumulativeAmount ? state.voucher.cumulativeAmount : voucher.cumulativeAmount;
    if (held < state.owed + inFlight) {
      throw new GotongError(`Channel ${voucher.channelId} has a request in flight that no voucher covers yet`, {
        code: "channel_busy",
        status: 429,
        retryable: true,
        hint: "A provider serves one unpaid request per channel at a time: wait for its answer, then send the next request with a voucher that pays for it.",
      });
    }
    const committed = state.owed + inFlight;
    if (committed + maxCost > channel.deposit) {
      throw new GotongError(
        `The channel's deposit of ${channel.deposit} does not cover this request: ${committed} is committed and the request may cost up to ${maxCost}`,
        { code: "insufficient_deposit", hint: "Top up the channel, or lower max_tokens.", status: 402 },
      );
    }
    return { running, inFlight };
  };

  /** The checks every voucher passes, for a request or a settlement. */
  /**
   * The checks every voucher passes, for a request or a settlement. `serving`: a request is about to
   * be served on this voucher, so a contract sender (an agent wallet, which its owner can revoke at
   * any moment) is asked again even for a voucher it vouched for before. `freshChannel`: read the
   * channel from the chain, not the cache.
   */
  const check = async (header: string | undefined, want: { modelId?: bigint; serving?: boolean; freshChannel?: boolean } = {}) => {
    if (!header) {
      throw paymentError(`This provider serves paid requests only: no ${HEADERS.voucher} header`, "voucher_missing", "Call it through a Gotong gateway, which opens a channel and signs vouchers.");
    }
    const voucher = decodeVoucherHeader(header);
    if (!voucher) throw paymentError(`The ${HEADERS.voucher} header is malformed`, "voucher_malformed", "Expected channelId:epoch:cumulativeAmount:signature.", 400);
    if (want.freshChannel) cache.delete(voucher.channelId);
    const channel = await channelFor(voucher.channelId, voucher);
    const { modelId } = want;
    if (channel.sender === zeroAddress) throw paymentError(`Channel ${voucher.channelId} does not exist on chain ${options.domain.chainId}`, "channel_not_found", "Open a channel first.");
    if (!isAddressEqual(channel.provider, options.provider)) throw paymentError(`Channel ${voucher.channelId} pays another provider (${channel.provider})`, "channel_wrong_provider");
    if (modelId !== undefined && channel.modelId !== modelId) throw paymentError(`Channel ${voucher.channelId} is for model ${channel.modelId}, not model ${modelId}`, "channel_wrong_model");
    if (voucher.epoch !== channel.epoch) throw paymentError(`The voucher is for epoch ${voucher.epoch} but the channel is in epoch ${channel.epoch}`, "voucher_wrong_epoch", "A voucher from a closed channel cannot pay again.");
    const held = options.store.getChannel(voucher.channelId, voucher.epoch).voucher;
    const known = held?.cumulativeAmount === voucher.cumulativeAmount && held.signature === voucher.signature;
    // The same voucher as last time needs no second signature check (the common case on retries),
    // unless a request is to be served on a contract sender's word: that is asked again.
    const askWallet = want.serving === true && contractSignatures.isKnownContract(channel.sender);
    if ((!known || askWallet) && !verifier.voucherSignedBy(voucher, channel.sender)) {
      if (!(await contractSignatures.signedBy(voucher, channel.sender, askWallet))) {
        throw paymentError("The voucher's signature is not the channel sender's for this chain and contract", "voucher_signature_invalid", "Vouchers are bound to one chain id, one PaymentChannels contract, one channel and one epoch.", 401);
      }
    }
    if (voucher.cumulativeAmount > channel.deposit) {
      throw paymentError(`The voucher pays ${voucher.cumulativeAmount}, above the channel's deposit of ${channel.deposit}`, "voucher_exceeds_deposit", "Top up the channel before signing a larger voucher.");
    }
    return { voucher, channel };
  };

  return {
    /**
     * Checks the `x-gotong-voucher` header for a request on `modelId` whose cost is at most
     * `maxCost`, stores the voucher durably, and reserves `maxCost` of the deposit.
     */
    async authorize(header: string | undefined, modelId: bigint, maxCost: bigint, requestId: Hex): Promise<Authorization> {
      let { voucher, channel } = await check(header, { modelId, serving: true });
      // A refusal for a closing channel or a short deposit rests on the chain's word, not on the
      // cache: the sender may have withdrawn and reopened, or topped up, a moment ago.
      const committed = options.store.getChannel(voucher.channelId, voucher.epoch).owed + (reserved.get(voucher.channelId) ?? 0n);
      if (channel.closesAt !== 0n || committed + maxCost > channel.deposit) {
        // Not `serving` again: a contract sender's wallet was asked a moment ago, in the first check.
        ({ voucher, channel } = await check(header, { modelId, freshChannel: true }));
      }
      // From here to the reservation nothing awaits: what is owed and what is in flight are read and
      // reserved in one turn, so overlapping requests on a channel can never both pass the rule.
      // The request id is taken first (a replay is told so, whatever else is wrong with it), then the
      // rule is applied and the voucher kept, in one commit: a refusal rolls the id back with it.
      const admission = options.store.admitRequest(requestId, voucher, () => admit(voucher, channel, maxCost));
      if (!admission.admitted) {
        throw new GotongError(`Request id ${requestId} was already used`, {
          code: "request_id_reused",
          status: 409,
          hint: `Its receipt is at /gotong/receipts/${requestId}; send a new request with a new id.`,
        });
      }
      const { running, inFlight } = admission.value;
      reserved.set(voucher.channelId, inFlight + maxCost);
      inFlightCount.set(voucher.channelId, running + 1);
      let released = false;
      const authorization: Authorization = {
        channel,
        channelId: voucher.channelId,
        epoch: voucher.epoch,
        release() {
          if (released) return;
          released = true;
          const count = (inFlightCount.get(voucher.channelId) ?? 1) - 1;
          if (count > 0) inFlightCount.set(voucher.channelId, count);
          else inFlightCount.delete(voucher.channelId);
          const left = (reserved.get(voucher.channelId) ?? 0n) - maxCost;
          if (left > 0n) reserved.set(voucher.channelId, left);
          else reserved.delete(voucher.channelId);
        },
      };
      // Nothing is served before the id and the voucher are on disk (their commit is shared with
      // the requests admitted in the same turn); if it fails, none of them is.
      try {
        await options.store.durable();
      } catch (error) {
        authorization.release();
        throw error;
      }
      return authorization;
    },
    /**
     * Accepts a voucher sent without a request: the client paying for the last request it received
     * (which the next request would otherwise carry), so the provider can redeem everything now.
     */
    async settle(header: string | undefined): Promise<{ owed: bigint; accepted: boolean }> {
      // Read the channel afresh: a settlement is rare, and one for a channel that closed since it
      // was cached must be refused, not stored where the redeemer would trip over it.
      const { voucher, channel } = await check(header, { freshChannel: true });
      if (channel.closesAt !== 0n && channel.closesAt <= (await chainNow())) {
        throw paymentError(`Channel ${voucher.channelId} closed at ${channel.closesAt}: its challenge period is over`, "channel_closed", "A voucher for a closed channel can no longer be redeemed.");
      }
      const state = options.store.getChannel(voucher.channelId, voucher.epoch);
      checkCovers(voucher, state);
      const accepted = options.store.acceptVoucher(voucher);
      await options.store.durable();
      return { owed: state.owed, accepted };
    },
    /** Forgets a cached channel so the next request reads it from the chain again. */
    invalidate(channelId: Hex) {
      cache.delete(channelId);
    },
  };
}

export type PaymentGuard = ReturnType<typeof createPaymentGuard>;

/** ERC-1271's answer for a valid signature. */
const ERC1271_MAGIC_VALUE = "0x1626ba7e";
/** Gas for a sender's `isValidSignature`, as PaymentChannels' ERC1271_GAS_LIMIT. */
export const ERC1271_GAS_LIMIT = 100_000n;

const erc1271Abi = [
  {
    type: "function",
    name: "isValidSignature",
    stateMutability: "view",
    inputs: [
      { name: "hash", type: "bytes32" },
      { name: "signature", type: "bytes" },
    ],
    outputs: [{ name: "", type: "bytes4" }],
  },
] as const;

/**
 * The slow path for contract senders: asks the sender's ERC-1271 `isValidSignature` on-chain, as
 * PaymentChannels will when the voucher is redeemed, and remembers valid answers per (sender, digest).
 * The call is made from the PaymentChannels address, because an agent wallet answers only the
 * contracts it lists as signature verifiers. Refusals are not remembered: a paused wallet that is
 * unpaused must be asked again; a revoked key's next voucher has a new digest, so it is asked again.
 */
function createContractSignatureCheck(client: PublicClient | undefined, domain: { chainId: number; verifyingContract: Address }) {
  const separator = domainSeparator(domain);
  const valid = new Map<string, Hex>();
  const isContract = new Set<string>();
  const MAX_REMEMBERED = 10_000;
  return {
    /** Whether `sender` was found to be a contract before. */
    isKnownContract: (sender: Address) => isContract.has(sender.toLowerCase()),
    /** `fresh` asks the wallet even when it vouched for this voucher before (it may be revoked since). */
    async signedBy(voucher: SignedVoucher, sender: Address, fresh = false): Promise<boolean> {
      if (!client) return false;
      const digest = bytesToHex(voucherDigest(separator, voucher));
      const key = `${sender.toLowerCase()}:${digest}`;
      if (!fresh && valid.get(key) === voucher.signature) return true;
      try {
        if (!isContract.has(sender.toLowerCase())) {
          const code = await client.getCode({ address: sender });
          if (!code || code === "0x") return false;
          isContract.add(sender.toLowerCase());
        }
        // At most the gas PaymentChannels gives the same check at redeem time: a wallet that needs
        // more would be skipped there, so it vouches for nothing here either (and cannot make the
        // provider's node burn unbounded gas on every request).
        const { data } = await client.call({
          to: sender,
          data: encodeFunctionData({ abi: erc1271Abi, functionName: "isValidSignature", args: [digest, voucher.signature] }),
          account: domain.verifyingContract,
          gas: ERC1271_GAS_LIMIT,
        });
        if (!data || data.length < 10 || data.slice(0, 10).toLowerCase() !== ERC1271_MAGIC_VALUE) return false;
      } catch (error) {
        // A wallet that reverts or runs out of gas vouches for nothing; a chain that cannot be reached may answer later.
        if (error instanceof BaseError && error.walk((e) => e instanceof ExecutionRevertedError || e instanceof ContractFunctionRevertedError || e instanceof ContractFunctionZeroDataError || /out of gas|execution reverted|invalid opcode/i.test((e as Error).message))) return false;
        throw new GotongError("Cannot check the channel sender's ERC-1271 signature on-chain", { code: "chain_unreachable", status: 503, retryable: true, cause: error });
      }
      if (valid.size >= MAX_REMEMBERED) valid.delete(valid.keys().next().value!);
      valid.set(key, voucher.signature);
      return true;
    },
  };
}
