import { erc20Abi, parseGwei, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PaymentChannelsArtifact, ModelRegistryArtifact } from "../src/chain/contracts.generated.ts";
import { createClients } from "../src/chain/createClients.ts";
import { fundOnDevnet } from "../src/chain/fundOnDevnet.ts";
import { writeAndWait } from "../src/chain/writeAndWait.ts";
import { channelIdOf } from "../src/protocol/channelId.ts";
import { signVoucher } from "../src/protocol/voucher.ts";
import { ensureProviderRegistered } from "../src/provider/ensureProviderRegistered.ts";
import { startTestNetwork } from "../test/helpers/network.ts";

/**
 * Gas of settling 1,000 paid requests: one `redeem` of a voucher for their cumulative cost, against
 * 1,000 ERC-20 transfers of the same token (how per-request payment protocols settle).
 */
export async function benchSettlementGas(requests = 1_000) {
  const net = await startTestNetwork();
  try {
    const { deployment } = net.devnet;
    const costPerRequest = 230n; // e.g. 30 input + 100 output tokens at 1 and 2 tokens per million
    const total = costPerRequest * BigInt(requests);
    const providerKey = generatePrivateKey();
    const senderKey = generatePrivateKey();
    const provider = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(providerKey) });
    const sender = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(senderKey) });
    await fundOnDevnet(deployment, provider.account.address, { tokens: 1_000_000_000n });
    await fundOnDevnet(deployment, sender.account.address, { tokens: 1_000_000_000n });
    const weights = `0x${"11".repeat(32)}` as Hex;
    const { result } = await writeAndWait(net.creator, { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "register", args: ["bench", weights, weights, "", 1000] });
    const modelId = result as bigint;
    await ensureProviderRegistered(provider, deployment, { endpoint: "http://127.0.0.1:1", hpkePublicKey: `0x${"22".repeat(32)}`, offers: [{ modelId, price: { pricePerMillionInput: 1n, pricePerMillionOutput: 1n }, capabilities: ["chat"] }] });
    await writeAndWait(sender, { address: deployment.token.address, abi: erc20Abi, functionName: "approve", args: [deployment.paymentChannels, total] });
    await writeAndWait(sender, { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "open", args: [provider.account.address, modelId, 0n, total] });
    const channelId = channelIdOf(sender.account.address, provider.account.address, modelId, 0n);
    // Earnings slots already touched once, as they are for any provider after its first redeem.
    const warm = await signVoucher(sender.account as never, { chainId: deployment.chainId, verifyingContract: deployment.paymentChannels }, { channelId, epoch: 0n, cumulativeAmount: costPerRequest });
    await writeAndWait(provider, { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "redeem", args: [{ channelId, epoch: 0n, cumulativeAmount: costPerRequest }, warm.signature] });
    const voucher = await signVoucher(sender.account as never, { chainId: deployment.chainId, verifyingContract: deployment.paymentChannels }, { channelId, epoch: 0n, cumulativeAmount: total });
    const redeem = await writeAndWait(provider, {
      address: deployment.paymentChannels,
      abi: PaymentChannelsArtifact.abi,
      functionName: "redeem",
      args: [{ channelId, epoch: 0n, cumulativeAmount: total }, voucher.signature],
    });
    const redeemGas = redeem.receipt.gasUsed;

    // Baseline: one transfer per request, sent back to back, all to the same (already funded) payee.
    let nonce = await sender.public.getTransactionCount({ address: sender.account.address });
    const hashes: Hex[] = [];
    for (let i = 0; i < requests; i++) {
      hashes.push(
        await sender.wallet.writeContract({
          address: deployment.token.address,
          abi: erc20Abi,
          functionName: "transfer",
          args: [provider.account.address, costPerRequest],
          nonce: nonce++,
          gas: 100_000n,
          maxFeePerGas: parseGwei("10"),
          maxPriorityFeePerGas: 1n,
        }),
      );
    }
    let transfersGas = 0n;
    for (const hash of hashes) transfersGas += (await sender.public.waitForTransactionReceipt({ hash })).gasUsed;
    return {
      requests,
      redeemGas,
      transfersGas,
      gasPerTransfer: transfersGas / BigInt(requests),
      ratio: Number(transfersGas) / Number(redeemGas),
      goal: "at least 500x less gas",
    };
  } finally {
    await net.stop();
  }
}
