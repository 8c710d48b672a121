/**
 * Gas per paid call, for 1, 100 and 1,000 calls, on a real node (Anvil), of:
 *
 *   - x402 `exact` through Gotong's X402Splitter: one `settle` per call (EIP-3009
 *     `transferWithAuthorization` into the pair's payee, then the split: royalty to the model's
 *     owner, protocol fee to funding, the rest to the provider);
 *   - x402 `exact` as a plain x402 server is paid: one `transferWithAuthorization` per call straight
 *     to one `payTo` (no royalty, no fee), the scheme's own cost;
 *   - Gotong's vouchers: the client's approve and `open` of a fresh channel, then one `redeem` of the
 *     last cumulative voucher for all the calls, however many;
 *   - x402 `batch-settlement` (Gotong's X402BatchSettlement at the canonical address, its receiver the
 *     pair's X402Splitter payee): one `deposit` (EIP-3009 `receiveWithAuthorization` through the
 *     collector), a voucher per call (no transaction), then one `multicall(claimWithSignature,
 *     settle)` of the last voucher and one X402Splitter `split`, however many calls.
 *
 * Every figure is receipt `gasUsed` (base 21,000 and calldata included), summed over the calls'
 * transactions and divided by the number of calls. The (provider, model) pair is warm in both
 * systems, as it is after its first payment: its x402 payee is deployed and the splitter's fee slot
 * is non-zero, and the provider's, model's and funding pool's earnings slots in PaymentChannels are
 * non-zero (the plain payee holds tokens already). Each figure starts from a fresh payer holding
 * tokens; the voucher figure's channel is fresh, so its one redeem also writes the channel's
 * `redeemed` slot from zero.
 *
 *   npx tsx bench/x402Gas.ts     writes bench/results/x402-gas.json and the README's x402 gas table
 *   npm run bench                includes it in bench/results/latest.json
 */
import { realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeFunctionData, erc20Abi, parseGwei, parseSignature, type Address, type Hex, type TransactionReceipt } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { authorizationTypes } from "@x402/evm";
import { ModelRegistryArtifact, PaymentChannelsArtifact, TestTokenArtifact, X402BatchSettlementArtifact, X402SplitterArtifact } from "../src/chain/contracts.generated.ts";
import { createClients, type ChainClients } from "../src/chain/createClients.ts";
import type { Deployment } from "../src/chain/deployment.ts";
import { fundOnDevnet } from "../src/chain/fundOnDevnet.ts";
import { writeAndWait } from "../src/chain/writeAndWait.ts";
import { bigintAsString } from "../src/common/bigintJson.ts";
import { channelIdOf } from "../src/protocol/channelId.ts";
import { signVoucher } from "../src/protocol/voucher.ts";
import {
  BATCH_SETTLEMENT_ADDRESS,
  batchSettlementDomain,
  CLAIM_BATCH_TYPES,
  computeChannelId,
  depositNonce,
  ERC3009_DEPOSIT_COLLECTOR_ADDRESS,
  erc3009CollectorData,
  RECEIVE_WITH_AUTHORIZATION_TYPES,
  toContractConfig,
  VOUCHER_TYPES,
  type ChannelConfig,
} from "../src/protocol/x402/batchSettlement.ts";
import { ensureProviderRegistered } from "../src/provider/ensureProviderRegistered.ts";
import { installBatchSettlement } from "../src/chain/installBatchSettlement.ts";
import { startTestNetwork } from "../test/helpers/network.ts";
import { fillReadme } from "./fillReadme.ts";

/** What each call pays, in base units (as bench/settlementGas.ts: 30 input + 100 output tokens). */
const COST_PER_CALL = 230n;

/** One count of calls: the gas of paying for them each way, in total and per call. */
export type X402GasRow = {
  calls: number;
  /** x402 `exact` through X402Splitter (`settle`: transfer and split), one transaction per call. */
  exactSplitGas: bigint;
  exactSplitPerCall: bigint;
  /** x402 `exact` straight to one payee (`transferWithAuthorization`), one transaction per call. */
  exactPlainGas: bigint;
  exactPlainPerCall: bigint;
  /** Gotong's vouchers: approve + open + one redeem for every call. */
  vouchersGas: bigint;
  vouchersPerCall: bigint;
  /** The redeem alone (a channel already open pays only this). */
  redeemGas: bigint;
  /** x402 batch-settlement: one deposit + one claim/settle multicall + one split for every call. */
  batchGas: bigint;
  batchPerCall: bigint;
  /** Its deposit alone (through the ERC-3009 collector). */
  batchDepositGas: bigint;
  /** Its redemption alone: the claim/settle multicall and the split (a funded channel pays only this). */
  batchRedeemGas: bigint;
};

/** Sends `count` transactions from `clients` back to back (explicit nonces) and sums their gas; each must succeed. */
async function sendAll(clients: ChainClients, count: number, request: (i: number) => Record<string, unknown>): Promise<bigint> {
  let nonce = await clients.public.getTransactionCount({ address: clients.account.address });
  const hashes: Hex[] = [];
  for (let i = 0; i < count; i++) {
    hashes.push(await clients.wallet.writeContract({ ...request(i), nonce: nonce++, gas: 400_000n, maxFeePerGas: parseGwei("10"), maxPriorityFeePerGas: 1n } as never));
  }
  let gas = 0n;
  for (const hash of hashes) {
    const receipt: TransactionReceipt = await clients.public.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`benchmark transaction ${hash} reverted`);
    gas += receipt.gasUsed;
  }
  return gas;
}

/** `count` EIP-3009 authorizations of `COST_PER_CALL` each from a fresh, funded payer to `to`, signed as x402 clients sign them. */
async function authorizations(deployment: Deployment, to: Address, count: number, tag: string) {
  const payer = privateKeyToAccount(generatePrivateKey());
  await fundOnDevnet(deployment, payer.address, { tokens: COST_PER_CALL * BigInt(count) + 1n });
  const domain = { name: "Gotong Test USD", version: "2", chainId: deployment.chainId, verifyingContract: deployment.token.address };
  const validBefore = BigInt(Math.floor(Date.now() / 1000) + 24 * 3600);
  const signed = [];
  for (let i = 0; i < count; i++) {
    const nonce = `0x${tag}${i.toString(16).padStart(64 - tag.length, "0")}` as Hex;
    const message = { from: payer.address, to, value: COST_PER_CALL, validAfter: 0n, validBefore, nonce };
    const { r, s, v, yParity } = parseSignature(await payer.signTypedData({ domain, types: authorizationTypes, primaryType: "TransferWithAuthorization", message }));
    signed.push({ ...message, v: Number(v ?? BigInt(yParity + 27)), r, s });
  }
  return signed;
}

/**
 * Measures gas per paid call for each count in `counts` (default 1, 100 and 1,000) with x402
 * `exact` (through X402Splitter, and plain) and with Gotong's vouchers.
 *
 * @example const { rows } = await benchX402Gas([1, 100]);
 */
export async function benchX402Gas(counts: number[] = [1, 100, 1_000]) {
  const net = await startTestNetwork();
  try {
    const { deployment } = net.devnet;
    const splitter = deployment.x402Splitter;
    if (!splitter) throw new Error("the devnet deployment has no X402Splitter");
    const provider = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(generatePrivateKey()) });
    await fundOnDevnet(deployment, provider.account.address, { tokens: 1_000_000_000n });
    const weights = `0x${"33".repeat(32)}` as Hex;
    const { result } = await writeAndWait(net.creator, { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "register", args: ["bench-x402", weights, weights, "", 1000] });
    const modelId = result as bigint;
    await ensureProviderRegistered(provider, deployment, { endpoint: "http://127.0.0.1:1", hpkePublicKey: `0x${"44".repeat(32)}`, offers: [{ modelId, price: { pricePerMillionInput: 1n, pricePerMillionOutput: 1n }, capabilities: ["chat"] }] });
    const payee = await provider.public.readContract({ address: splitter, abi: X402SplitterArtifact.abi, functionName: "payeeOf", args: [provider.account.address, modelId] });
    const plainPayTo = privateKeyToAccount(generatePrivateKey()).address;

    const settle = (a: Awaited<ReturnType<typeof authorizations>>[number]) => ({
      address: splitter,
      abi: X402SplitterArtifact.abi,
      functionName: "settle",
      args: [provider.account.address, modelId, { from: a.from, value: a.value, validAfter: a.validAfter, validBefore: a.validBefore, nonce: a.nonce, v: a.v, r: a.r, s: a.s }],
    });
    const transfer = (a: Awaited<ReturnType<typeof authorizations>>[number]) => ({
      address: deployment.token.address,
      abi: TestTokenArtifact.abi,
      functionName: "transferWithAuthorization",
      args: [a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, a.v, a.r, a.s],
    });
    /** A fresh payer's channel for `calls` calls: approve + open, then one redeem of the last voucher. */
    const payByVouchers = async (calls: number) => {
      const total = COST_PER_CALL * BigInt(calls);
      const key = generatePrivateKey();
      const sender = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(key) });
      await fundOnDevnet(deployment, sender.account.address, { tokens: total + 1n });
      const approve = await writeAndWait(sender, { address: deployment.token.address, abi: erc20Abi, functionName: "approve", args: [deployment.paymentChannels, total] });
      const open = await writeAndWait(sender, { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "open", args: [provider.account.address, modelId, 0n, total] });
      const channelId = channelIdOf(sender.account.address, provider.account.address, modelId, 0n);
      const voucher = { channelId, epoch: 0n, cumulativeAmount: total };
      const { signature } = await signVoucher(sender.account as never, { chainId: deployment.chainId, verifyingContract: deployment.paymentChannels }, voucher);
      const redeem = await writeAndWait(provider, { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "redeem", args: [voucher, signature] });
      return { total: approve.receipt.gasUsed + open.receipt.gasUsed + redeem.receipt.gasUsed, redeem: redeem.receipt.gasUsed };
    };

    /**
     * A fresh payer's batch-settlement channel for `calls` calls, as the published client and
     * Gotong's provider drive it: the deposit (signed for the collector, bound to the channel), one
     * cumulative voucher per call (signatures only), and the redemption of the last one.
     */
    await installBatchSettlement(net.creator.public);
    const payByBatch = async (calls: number) => {
      const total = COST_PER_CALL * BigInt(calls);
      const payer = privateKeyToAccount(generatePrivateKey());
      await fundOnDevnet(deployment, payer.address, { tokens: total + 1n });
      const config: ChannelConfig = { payer: payer.address, payerAuthorizer: payer.address, receiver: payee, receiverAuthorizer: provider.account.address, token: deployment.token.address, withdrawDelay: 900, salt: `0x${"00".repeat(32)}` };
      const channelId = computeChannelId(config, deployment.chainId);
      const salt = generatePrivateKey();
      const validBefore = String(Math.floor(Date.now() / 1000) + 3600);
      const authorization = await payer.signTypedData({
        domain: { name: "Gotong Test USD", version: "2", chainId: deployment.chainId, verifyingContract: deployment.token.address },
        types: RECEIVE_WITH_AUTHORIZATION_TYPES,
        primaryType: "ReceiveWithAuthorization",
        message: { from: payer.address, to: ERC3009_DEPOSIT_COLLECTOR_ADDRESS, value: total, validAfter: 0n, validBefore: BigInt(validBefore), nonce: depositNonce(channelId, salt) },
      });
      const abi = X402BatchSettlementArtifact.abi;
      const deposit = await writeAndWait(provider, {
        address: BATCH_SETTLEMENT_ADDRESS,
        abi,
        functionName: "deposit",
        args: [toContractConfig(config), total, ERC3009_DEPOSIT_COLLECTOR_ADDRESS, erc3009CollectorData({ validAfter: "0", validBefore, salt, signature: authorization })],
      });
      // Each call's voucher is a signature and nothing else; only the last one is ever submitted.
      const signature = await payer.signTypedData({ domain: batchSettlementDomain(deployment.chainId), types: VOUCHER_TYPES, primaryType: "Voucher", message: { channelId, maxClaimableAmount: total } });
      const claims = [{ voucher: { channel: toContractConfig(config), maxClaimableAmount: total }, signature, totalClaimed: total }];
      const batchSignature = await provider.account.signTypedData!({ domain: batchSettlementDomain(deployment.chainId), types: CLAIM_BATCH_TYPES, primaryType: "ClaimBatch", message: { claims: [{ channelId, maxClaimableAmount: total, totalClaimed: total }] } });
      const claim = await writeAndWait(provider, {
        address: BATCH_SETTLEMENT_ADDRESS,
        abi,
        functionName: "multicall",
        args: [[encodeFunctionData({ abi, functionName: "claimWithSignature", args: [claims, batchSignature] }), encodeFunctionData({ abi, functionName: "settle", args: [payee, deployment.token.address] })]],
      });
      const split = await writeAndWait(provider, { address: splitter, abi: X402SplitterArtifact.abi, functionName: "split", args: [provider.account.address, modelId] });
      const redeem = claim.receipt.gasUsed + split.receipt.gasUsed;
      return { total: deposit.receipt.gasUsed + redeem, deposit: deposit.receipt.gasUsed, redeem };
    };

    // Warm the pair as its first payments do: the payee deployed, every earnings slot non-zero; and
    // the plain payee holds tokens already, as any x402 server's payTo does after its first sale.
    await fundOnDevnet(deployment, plainPayTo, { ether: 0n, tokens: 1n });
    const [first] = await authorizations(deployment, payee, 1, "ff");
    await sendAll(provider, 1, () => settle(first!));
    await payByVouchers(1);
    await payByBatch(1);

    const rows: X402GasRow[] = [];
    for (const [i, calls] of counts.entries()) {
      const n = BigInt(calls);
      const split = await authorizations(deployment, payee, calls, `a${i}`);
      const exactSplitGas = await sendAll(provider, calls, (j) => settle(split[j]!));
      const plain = await authorizations(deployment, plainPayTo, calls, `b${i}`);
      const exactPlainGas = await sendAll(provider, calls, (j) => transfer(plain[j]!));
      const vouchers = await payByVouchers(calls);
      const batch = await payByBatch(calls);
      rows.push({
        calls,
        exactSplitGas,
        exactSplitPerCall: exactSplitGas / n,
        exactPlainGas,
        exactPlainPerCall: exactPlainGas / n,
        vouchersGas: vouchers.total,
        vouchersPerCall: vouchers.total / n,
        redeemGas: vouchers.redeem,
        batchGas: batch.total,
        batchPerCall: batch.total / n,
        batchDepositGas: batch.deposit,
        batchRedeemGas: batch.redeem,
      });
    }
    return {
      rows,
      costPerCall: COST_PER_CALL,
      note: "receipt gasUsed (base 21,000 and calldata included) summed over each way's transactions, divided by the calls; the pair is warm (x402 payee deployed, earnings slots non-zero, the batch receiver claimed before); a fresh payer (and channel) for each figure",
    };
  } finally {
    await net.stop();
  }
}

/** Renders the results as the README's x402 gas table. */
export function renderX402GasTable(results: Awaited<ReturnType<typeof benchX402Gas>>): string {
  const f = (v: bigint) => Number(v).toLocaleString("en-US");
  const lines = [
    "| paid calls | x402 `exact` through X402Splitter (a settle each: transfer + split) | x402 `exact`, plain (a transfer each, no split) | x402 `batch-settlement` (deposit + one claim/settle + split) | Gotong vouchers (approve + open + one redeem) | `exact` with the split ÷ vouchers |",
    "|---|---|---|---|---|---|",
    ...results.rows.map(
      (r) =>
        `| ${f(BigInt(r.calls))} | **${f(r.exactSplitPerCall)}** per call (${f(r.exactSplitGas)} in all) | ${f(r.exactPlainPerCall)} per call | **${f(r.batchPerCall)}** per call (${f(r.batchGas)} in all; the deposit ${f(r.batchDepositGas)}, the redemption ${f(r.batchRedeemGas)}) | **${f(r.vouchersPerCall)}** per call (${f(r.vouchersGas)} in all; the redeem ${f(r.redeemGas)}) | ${(Number(r.exactSplitGas) / Number(r.vouchersGas)).toFixed(r.exactSplitGas >= r.vouchersGas ? 0 : 2)}× |`,
    ),
  ];
  return lines.join("\n");
}

/** Run directly: measure, write bench/results/x402-gas.json and the README's x402 gas table. */
if (process.argv[1] && import.meta.filename === realpathSync(process.argv[1])) {
  const counts = process.env.BENCH_X402_CALLS?.split(",").map(Number);
  const results = await benchX402Gas(counts);
  const json = JSON.stringify({ date: new Date().toISOString(), node: process.version, ...results }, bigintAsString, 2);
  writeFileSync(join(import.meta.dirname, "results", "x402-gas.json"), json + "\n");
  const table = renderX402GasTable(results);
  fillReadme("x402-gas-bench", table);
  console.log(json);
  console.log(table);
  process.exit(0);
}
