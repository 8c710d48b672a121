import { getAddress, isAddressEqual, recoverTypedDataAddress, type Address, type Hex } from "viem";
import { parseExactEvmPayload } from "../../protocol/x402/x402Codec.ts";
import { X402_ERROR_REASONS, type X402ErrorReason } from "../../protocol/x402/x402ErrorReasons.ts";
import { X402_VERSION, type ExactEvmAuthorization, type PaymentPayload, type PaymentRequirements } from "../../protocol/x402/x402Types.ts";
import type { TokenDomain } from "./readTokenDomain.ts";

/** What the chain says about a payer and an authorization, read for verification. */
export type PayerState = { balance: bigint; nonceUsed: boolean; now: bigint };

/** A verified `exact` payment: who pays, and the authorization to submit. */
export type VerifiedPayment = { ok: true; payer: Address; authorization: ExactEvmAuthorization; signature: Hex };

/** A refused payment: the x402 reason, and what was wrong in words. */
export type RefusedPayment = { ok: false; reason: X402ErrorReason; message: string; payer?: Address };

/**
 * Seconds an authorization must still be valid for when it is verified: it is submitted next, and
 * must not expire before the transaction is mined (the published facilitator's margin too).
 */
export const SETTLEMENT_MARGIN_SECONDS = 6n;

const EIP3009_TYPES = {
  TransferWithAuthorization: [
    { name: "from", type: "address" },
    { name: "to", type: "address" },
    { name: "value", type: "uint256" },
    { name: "validAfter", type: "uint256" },
    { name: "validBefore", type: "uint256" },
    { name: "nonce", type: "bytes32" },
  ],
} as const;

const refuse = (reason: X402ErrorReason, message: string, payer?: Address): RefusedPayment => ({ ok: false, reason, message, payer });

/** The path of a resource URL, or undefined when it is not a URL. */
function pathOf(url: string): string | undefined {
  try {
    return new URL(url).pathname.replace(/\/+$/, "") || "/";
  } catch {
    return undefined;
  }
}

/**
 * Checks an x402 `exact` EVM payment (EIP-3009) against what this request requires, in the order
 * of the specification's verification steps, and says the first thing wrong with the spec's
 * reason: version, scheme, network, resource, asset, payee, amount, signature, validity window,
 * nonce, balance. `state` is read from the chain for this payer and nonce (`readPayerState`).
 *
 * @example const verdict = await verifyExactPayment({ payment, required, chainId, path, domain, state });
 */
export async function verifyExactPayment(args: {
  payment: PaymentPayload;
  /** The requirements this server offers for this request (its `accepts[0]`). */
  required: PaymentRequirements;
  chainId: number;
  /**
   * The path of the resource being paid for, e.g. `/v1/chat/completions`; undefined for a
   * facilitator, which does not serve the resource (its resource server checks it).
   */
  path: string | undefined;
  domain: TokenDomain;
  readState(payer: Address, nonce: Hex): Promise<PayerState>;
}): Promise<VerifiedPayment | RefusedPayment> {
  const { payment, required } = args;
  if (payment.x402Version !== X402_VERSION) return refuse(X402_ERROR_REASONS.x402Version, `x402Version ${payment.x402Version} is not supported; this server speaks ${X402_VERSION}`);
  const accepted = payment.accepted;
  if (accepted.scheme !== required.scheme) return refuse(X402_ERROR_REASONS.unsupportedScheme, `The scheme "${accepted.scheme}" is not accepted; this server takes "${required.scheme}"`);
  if (accepted.network !== required.network) return refuse(X402_ERROR_REASONS.network, `The payment is for network ${accepted.network}; this server is paid on ${required.network}`);
  const parsed = parseExactEvmPayload(payment.payload);
  if (!parsed.ok) return refuse(X402_ERROR_REASONS.payload, `The exact EVM payload is malformed: ${parsed.problem}`);
  const { authorization, signature } = parsed.value;
  const payer = getAddress(authorization.from);
  if (payment.resource && args.path !== undefined) {
    const paidPath = pathOf(payment.resource.url);
    if (paidPath !== args.path) return refuse(X402_ERROR_REASONS.paymentRequirements, `The payment is for the resource ${payment.resource.url}, not ${args.path}`, payer);
  }
  if (!isAddressLike(accepted.asset) || !isAddressEqual(accepted.asset, required.asset as Address)) {
    return refuse(X402_ERROR_REASONS.paymentRequirements, `The payment is in the asset ${accepted.asset}; this server is paid in ${required.asset}`, payer);
  }
  const payTo = required.payTo as Address;
  if (!isAddressLike(accepted.payTo) || !isAddressEqual(accepted.payTo, payTo) || !isAddressEqual(authorization.to, payTo)) {
    return refuse(X402_ERROR_REASONS.recipientMismatch, `The authorization pays ${authorization.to}; this request's payTo is ${payTo}`, payer);
  }
  if (accepted.amount !== required.amount || authorization.value !== required.amount) {
    return refuse(X402_ERROR_REASONS.valueMismatch, `The authorization is for ${authorization.value} base units; this request costs at most ${required.amount}`, payer);
  }
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({
      domain: { name: args.domain.name, version: args.domain.version, chainId: args.chainId, verifyingContract: required.asset as Address },
      types: EIP3009_TYPES,
      primaryType: "TransferWithAuthorization",
      message: {
        from: payer,
        to: getAddress(authorization.to),
        value: BigInt(authorization.value),
        validAfter: BigInt(authorization.validAfter),
        validBefore: BigInt(authorization.validBefore),
        nonce: authorization.nonce,
      },
      signature,
    });
  } catch {
    return refuse(X402_ERROR_REASONS.signature, "The signature is not a valid 65-byte ECDSA signature", payer);
  }
  if (!isAddressEqual(signer, payer)) return refuse(X402_ERROR_REASONS.signature, `The authorization is signed by ${signer}, not by its payer ${payer} (for chain ${args.chainId} and token ${required.asset})`, payer);
  const state = await args.readState(payer, authorization.nonce);
  // EIP-3009 takes an authorization strictly after validAfter and strictly before validBefore.
  if (BigInt(authorization.validAfter) >= state.now) return refuse(X402_ERROR_REASONS.validAfter, `The authorization is valid only after ${authorization.validAfter}; it is now ${state.now}`, payer);
  if (BigInt(authorization.validBefore) < state.now + SETTLEMENT_MARGIN_SECONDS) {
    return refuse(X402_ERROR_REASONS.validBefore, `The authorization expires at ${authorization.validBefore}; it is now ${state.now}, too late to settle it`, payer);
  }
  if (state.nonceUsed) return refuse(X402_ERROR_REASONS.nonceAlreadyUsed, `The authorization's nonce ${authorization.nonce} was already used by ${payer}`, payer);
  if (state.balance < BigInt(authorization.value)) return refuse(X402_ERROR_REASONS.insufficientFunds, `${payer} holds ${state.balance} base units, less than ${authorization.value}`, payer);
  return { ok: true, payer, authorization, signature };
}

function isAddressLike(value: string): value is Address {
  return /^0x[0-9a-fA-F]{40}$/.test(value);
}
