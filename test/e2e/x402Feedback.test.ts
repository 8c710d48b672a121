import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAddress, parseEventLogs, zeroHash, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { wrapFetchWithPayment, x402Client, decodePaymentResponseHeader } from "@x402/fetch";
import { decodePaymentSignatureHeader } from "@x402/core/http";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { AgentRegistryArtifact, AgentReputationArtifact, X402SplitterArtifact } from "../../src/chain/contracts.generated.ts";
import { createClients, type ChainClients } from "../../src/chain/createClients.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import type { Price } from "../../src/payments/price.ts";
import type { RunningProvider } from "../../src/provider/startProvider.ts";
import { runGotong } from "../helpers/cli.ts";
import { tokenTransfersOf } from "../helpers/x402Split.ts";
import { startChatNetwork, UNIT, type ChatNetwork } from "../helpers/network.ts";

// Prices with odd digits, as test/e2e/x402Exact.test.ts: the weight must be the authorization's value to the base unit.
const PRICE: Price = { pricePerMillionInput: 123_456_789n, pricePerMillionOutput: 987_654_321n };
const MAX_TOKENS = 8;

/** What `gotong provider identity --json` prints. */
type IdentityReport = { provider: Address; endpoint: string; x402Support: boolean; agentId: string; registry: Address; wallet: Address; uri: string; created: boolean; uriUpdated: boolean; walletBound: boolean };

describe("x402 payments count for ERC-8004 feedback: a provider's identity, paid by x402, reviewed by its payer", () => {
  let net: ChatNetwork;
  let provider: RunningProvider & { key: Hex };
  let providerClients: ChainClients;
  let keyFile: string;
  let agentId: bigint;
  let paid: bigint;
  const payer = privateKeyToAccount(generatePrivateKey());
  const stranger = privateKeyToAccount(generatePrivateKey());
  const clientsOf = (account: typeof payer) => createClients({ rpcUrl: net.devnet.deployment.rpcUrl, chainId: net.devnet.deployment.chainId, account });
  const registry = () => ({ address: net.devnet.deployment.agentRegistry!, abi: AgentRegistryArtifact.abi }) as const;
  const reputation = () => ({ address: net.devnet.deployment.agentReputation!, abi: AgentReputationArtifact.abi }) as const;
  const identity = async (): Promise<IdentityReport> => {
    const run = await runGotong(["provider", "identity", "--json", "--home", net.home.root, "--key", keyFile]);
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as IdentityReport;
  };
  /** ERC-8004 `giveFeedback` by `clients`, as any client of the standard calls it. */
  const giveFeedback = (clients: ChainClients, value: bigint) =>
    writeAndWait(clients, { ...reputation(), functionName: "giveFeedback", args: [agentId, value, 0, "x402", "", `${provider.url}/v1/chat/completions`, "", zeroHash] });
  const refusal = (promise: Promise<unknown>) => promise.then(() => "accepted", (error: unknown) => String((error as Error).message));

  beforeAll(async () => {
    net = await startChatNetwork();
    provider = await net.provider(net.model.path, { price: PRICE });
    const { deployment } = net.devnet;
    providerClients = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(provider.key) });
    keyFile = join(net.home.root, "provider-under-test.key");
    writeFileSync(keyFile, provider.key + "\n", { mode: 0o600 });
    await fundOnDevnet(deployment, payer.address, { tokens: 100n * UNIT });
    await fundOnDevnet(deployment, stranger.address, { tokens: 100n * UNIT });
  });
  afterAll(() => net?.stop());

  it("registers the provider as an agent whose wallet is its own address, declaring x402Support and its services", async () => {
    expect(provider.x402).toBe(true);
    const report = await identity();
    expect(report).toMatchObject({ provider: provider.address, endpoint: provider.url, x402Support: true, wallet: provider.address, created: true });
    agentId = BigInt(report.agentId);
    expect(await net.creator.public.readContract({ ...registry(), functionName: "ownerOf", args: [agentId] })).toBe(provider.address);
    expect(await net.creator.public.readContract({ ...registry(), functionName: "getAgentWallet", args: [agentId] })).toBe(provider.address);

    const uri = (await net.creator.public.readContract({ ...registry(), functionName: "tokenURI", args: [agentId] })) as string;
    expect(uri).toBe(report.uri);
    const prefix = "data:application/json;base64,";
    expect(uri.startsWith(prefix)).toBe(true);
    expect(JSON.parse(Buffer.from(uri.slice(prefix.length), "base64").toString("utf8"))).toEqual({
      type: "https://eips.ethereum.org/EIPS/eip-8004#registration-v1",
      name: `Gotong provider ${provider.address}`,
      description: expect.stringContaining("x402"),
      services: [
        { name: "wallet", endpoint: `eip155:${net.devnet.deployment.chainId}:${provider.address}` },
        { name: "OpenAI", endpoint: `${provider.url}/v1` },
        { name: "MCP", endpoint: `${provider.url}/mcp` },
      ],
      x402Support: true,
      active: true,
    });
  });

  it("is idempotent: run again it finds the same agent and changes nothing; its wallet unset, it binds it again with its own signature", async () => {
    expect(await identity()).toMatchObject({ agentId: String(agentId), created: false, uriUpdated: false, walletBound: false });
    await writeAndWait(providerClients, { ...registry(), functionName: "unsetAgentWallet", args: [agentId] });
    expect(await net.creator.public.readContract({ ...registry(), functionName: "getAgentWallet", args: [agentId] })).toBe("0x0000000000000000000000000000000000000000");
    expect(await identity()).toMatchObject({ agentId: String(agentId), created: false, uriUpdated: false, walletBound: true });
    expect(await net.creator.public.readContract({ ...registry(), functionName: "getAgentWallet", args: [agentId] })).toBe(provider.address);
    expect(await net.creator.public.readContract({ ...registry(), functionName: "agentCount" })).toBe(agentId);
  });

  it("is paid by @x402/fetch + @x402/evm, unchanged, and the payer's feedback weighs exactly the authorization's value", async () => {
    const client = new x402Client();
    registerExactEvmScheme(client, { signer: payer });
    client.setSpendControls({ allowedAssets: [{ network: "eip155:31337", asset: net.devnet.deployment.token.address, maxAmountPerPayment: String(UNIT) }] });
    // The fetch under the published client, to read the authorization it signed.
    const signatures: string[] = [];
    const recordingFetch: typeof fetch = (input, init) => {
      const header = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)).get("PAYMENT-SIGNATURE");
      if (header) signatures.push(header);
      return fetch(input, init);
    };
    const res = await wrapFetchWithPayment(recordingFetch, client)(`${provider.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: net.model.name, messages: [{ role: "user", content: "Once upon a time" }], max_tokens: MAX_TOKENS }),
    });
    expect(res.status).toBe(200);
    await res.json();
    expect(signatures).toHaveLength(1);
    const authorization = (decodePaymentSignatureHeader(signatures[0]!).payload as { authorization: { from: string; value: string } }).authorization;
    expect(getAddress(authorization.from)).toBe(payer.address);
    paid = BigInt(authorization.value);
    expect(paid).toBeGreaterThan(0n);
    const settlement = decodePaymentResponseHeader(res.headers.get("PAYMENT-RESPONSE")!);
    expect(settlement).toMatchObject({ success: true, payer: payer.address, amount: paid.toString() });
    expect((await tokenTransfersOf(net.creator.public, net.devnet.deployment.token.address, settlement.transaction as Hex))[0]).toMatchObject({ from: payer.address, value: paid });
    expect(await net.creator.public.readContract({ address: net.devnet.deployment.x402Splitter!, abi: X402SplitterArtifact.abi, functionName: "paidBy", args: [payer.address, provider.address] })).toBe(paid);

    const { receipt } = await giveFeedback(clientsOf(payer), 87n);
    const events = parseEventLogs({ abi: AgentReputationArtifact.abi, logs: receipt.logs });
    expect(events.find((e) => e.eventName === "X402PaymentsCited")?.args).toEqual({ agentId, clientAddress: payer.address, feedbackIndex: 1n, wallet: provider.address, amount: paid, citedTotal: paid });
    expect(events.find((e) => e.eventName === "FeedbackWeighted")?.args).toEqual({ agentId, clientAddress: payer.address, feedbackIndex: 1n, weight: paid, payments: 0n });

    expect(await net.creator.public.readContract({ ...reputation(), functionName: "getSummary", args: [agentId, [], "", ""] })).toEqual([1n, 87n, 0]);
    expect(await net.creator.public.readContract({ ...reputation(), functionName: "getPaidSummary", args: [agentId, [], "", ""] })).toEqual([1n, 87n, 0, paid]);
    expect(await net.creator.public.readContract({ ...reputation(), functionName: "feedbackWeight", args: [agentId, payer.address, 1n] })).toBe(paid);
    expect(await net.creator.public.readContract({ ...reputation(), functionName: "readFeedback", args: [agentId, payer.address, 1n] })).toEqual([87n, 0, "x402", "", false]);
  });

  it("refuses a second feedback without a new payment", async () => {
    expect(await refusal(giveFeedback(clientsOf(payer), 10n))).toContain("NoPaymentToCite");
    expect(await net.creator.public.readContract({ ...reputation(), functionName: "getPaidSummary", args: [agentId, [], "", ""] })).toEqual([1n, 87n, 0, paid]);
  });

  it("refuses a reviewer who never paid", async () => {
    expect(await refusal(giveFeedback(clientsOf(stranger), 100n))).toContain("NoPaymentToCite");
  });

  it("refuses the provider reviewing itself", async () => {
    expect(await refusal(giveFeedback(providerClients, 100n))).toContain("SelfDealing");
    expect(await net.creator.public.readContract({ ...reputation(), functionName: "getPaidSummary", args: [agentId, [], "", ""] })).toEqual([1n, 87n, 0, paid]);
  });
});
