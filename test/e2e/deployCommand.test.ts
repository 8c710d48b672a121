import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { encodeDeployData, erc20Abi, getAddress, getContractAddress, keccak256, parseEther, type Address, type Hex, type PublicClient } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { DerivationCourtArtifact, ModelRegistryArtifact, PaymentChannelsArtifact, ProviderRegistryArtifact, QuadraticFundingArtifact, ServingVerificationArtifact, TestTokenArtifact } from "../../src/chain/contracts.generated.ts";
import { createClients, type ChainClients } from "../../src/chain/createClients.ts";
import { readDeployment, type Deployment } from "../../src/chain/deployment.ts";
import type { DeployProgress } from "../../src/chain/resumableSteps.ts";
import { startAnvil, type AnvilNode } from "../../src/chain/startAnvil.ts";
import { codeMismatch, verifyDeployedCode } from "../../src/chain/verifyDeployedCode.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { isGotongError } from "../../src/common/errors.ts";
import { startGateway } from "../../src/gateway/startGateway.ts";
import { registerModel } from "../../src/model/registerModel.ts";
import { startProvider } from "../../src/provider/startProvider.ts";
import { chatModel } from "../helpers/chatModel.ts";
import { runGotong, spawnGotong } from "../helpers/cli.ts";
import { startFaultyRpc } from "../helpers/faultyRpc.ts";
import { DEFAULT_PRICE, quietLogger } from "../helpers/network.ts";
import { freePort } from "../helpers/ports.ts";
import { postChat } from "../helpers/postChat.ts";
import { tempHome } from "../helpers/tempHome.ts";

const CHAIN_ID = 4242;
const USDC = 1_000_000n; // the "existing" token below has 6 decimals, as USDC does

/** `gotong deploy` against a second Anvil that plays another network: its own chain id, no funded dev keys. */
describe("gotong deploy to another network", () => {
  const home = tempHome();
  let anvil: AnvilNode;
  let deployer: ChainClients;
  let keyFile: string;
  let usdc: Address;
  /** A second endpoint of the same chain, listed first in the deployment file, that later vanishes. */
  let proxy: Awaited<ReturnType<typeof startFaultyRpc>>;
  const nonce = () => deployer.public.getTransactionCount({ address: deployer.account.address });

  /** Funds `address` with ether for gas (anvil_setBalance: the only funding this chain has) and `tokens` of the token. */
  async function fund(address: Address, tokens: bigint) {
    await (deployer.public as PublicClient).request({ method: "anvil_setBalance" as never, params: [address, `0x${parseEther("100").toString(16)}`] as never });
    if (tokens > 0n) await writeAndWait(deployer, { address: usdc, abi: TestTokenArtifact.abi, functionName: "mint", args: [address, tokens] });
  }

  beforeAll(async () => {
    anvil = await startAnvil({ port: await freePort(), chainId: CHAIN_ID, devAccountBalance: 0 });
    proxy = await startFaultyRpc(anvil.rpcUrl);
    const key = generatePrivateKey();
    keyFile = join(home.root, "deployer.key");
    writeFileSync(keyFile, key + "\n", { mode: 0o600 });
    deployer = createClients({ rpcUrl: anvil.rpcUrl, chainId: CHAIN_ID, account: privateKeyToAccount(key) });
    // Anvil's well-known dev key holds nothing here, as on any real network.
    const devKey = privateKeyToAccount("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
    expect(await deployer.public.getBalance({ address: devKey.address })).toBe(0n);
    await (deployer.public as PublicClient).request({ method: "anvil_setBalance" as never, params: [deployer.account.address, `0x${parseEther("100").toString(16)}`] as never });
    // "An existing ERC-20", deployed before and apart from Gotong: the TestToken build as a 6-decimal USDC.
    const hash = await deployer.wallet.deployContract({ abi: TestTokenArtifact.abi, bytecode: TestTokenArtifact.bytecode, args: ["USD Coin", "USDC", 6] });
    usdc = (await deployer.public.waitForTransactionReceipt({ hash })).contractAddress!;
    await fund(deployer.account.address, 1_000n * USDC);
  });
  afterAll(async () => {
    await proxy?.close();
    await anvil?.stop();
    home.cleanup();
  });

  it("refuses to pick a token on its own", async () => {
    const result = await runGotong(["deploy", "--rpc-url", anvil.rpcUrl, "--key", keyFile, "--out", join(home.root, "none.json")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Which token pays for requests? Give --token ADDR");
    expect(existsSync(join(home.root, "none.progress.json"))).toBe(false);
  });

  it("refuses RPC URLs of two different chains, or one that is not a URL, before sending anything", async () => {
    const otherChain = createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: 0, result: "0x1" })));
    });
    await new Promise<void>((r) => otherChain.listen(0, "127.0.0.1", r));
    try {
      const before = await nonce();
      const otherUrl = `http://127.0.0.1:${(otherChain.address() as AddressInfo).port}`;
      const mixed = await runGotong(["deploy", "--rpc-url", `${anvil.rpcUrl},${otherUrl}`, "--key", keyFile, "--test-token", "--out", join(home.root, "mixed.json")]);
      expect(mixed.code).toBe(1);
      expect(mixed.stderr).toContain(`--rpc-url names two chains: ${anvil.rpcUrl} is chain ${CHAIN_ID}, ${otherUrl} is chain 1`);
      const typo = await runGotong(["deploy", "--rpc-url", `${anvil.rpcUrl},localhost:8545`, "--key", keyFile, "--test-token", "--out", join(home.root, "typo.json")]);
      expect(typo.code).toBe(1);
      expect(typo.stderr).toContain('--rpc-url: "localhost:8545" is not an http(s) URL');
      expect(await nonce()).toBe(before);
    } finally {
      await new Promise<void>((r) => otherChain.close(() => r()));
    }
  });

  let deployment: Deployment;
  it("deploys every contract with an existing token, checks their code and writes the deployment file", async () => {
    const out = join(home.root, "deployment.json");
    const before = await nonce();
    const result = await runGotong(["deploy", "--rpc-url", `${proxy.url},${anvil.rpcUrl}`, "--key", keyFile, "--token", usdc, "--protocol-fee-bps", "150", "--challenge-period", "2h", "--min-stake", "50", "--out", out, "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout) as { deployment: Deployment; verified: { contract: string }[]; gasUsed: string };
    deployment = readDeployment(out);
    expect(printed.deployment).toEqual(deployment);
    expect(deployment).toMatchObject({ chainId: CHAIN_ID, rpcUrl: proxy.url, rpcUrls: [proxy.url, anvil.rpcUrl], token: { address: getAddress(usdc), symbol: "USDC", decimals: 6 }, protocolFeeBps: 150, challengePeriod: 7200, minStake: (50n * USDC).toString() });
    expect(deployment.fundingPool).toBe(deployment.quadraticFunding);
    expect(printed.verified.map((v) => v.contract)).toEqual(["ModelRegistry", "ProviderRegistry", "QuadraticFunding", "PaymentChannels", "X402Splitter", "AttestationRegistry", "AgentWalletFactory", "AgentRegistry", "AgentReputation", "DatasetRegistry", "DataPoolFactory", "ServingVerification", "DerivationCourt"]);
    // The contracts hold the options given, read back from the chain.
    expect(await deployer.public.readContract({ address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "protocolFeeBps" })).toBe(150);
    expect(await deployer.public.readContract({ address: deployment.providerRegistry, abi: ProviderRegistryArtifact.abi, functionName: "minStake" })).toBe(50n * USDC);
    // ServingVerification is wired as the registry's one slasher and as a funding source of QuadraticFunding;
    // its validators stake what a provider must, and a report bonds a tenth of it.
    expect(await deployer.public.readContract({ address: deployment.providerRegistry, abi: ProviderRegistryArtifact.abi, functionName: "verifier" })).toBe(getAddress(deployment.servingVerification!));
    expect(await deployer.public.readContract({ address: deployment.quadraticFunding!, abi: QuadraticFundingArtifact.abi, functionName: "servingVerification" })).toBe(getAddress(deployment.servingVerification!));
    expect(await deployer.public.readContract({ address: deployment.servingVerification!, abi: ServingVerificationArtifact.abi, functionName: "minValidatorStake" })).toBe(50n * USDC);
    expect(await deployer.public.readContract({ address: deployment.servingVerification!, abi: ServingVerificationArtifact.abi, functionName: "reportBond" })).toBe(5n * USDC);
    expect(await deployer.public.readContract({ address: deployment.servingVerification!, abi: ServingVerificationArtifact.abi, functionName: "fundingPool" })).toBe(getAddress(deployment.quadraticFunding!));
    // The derivation court is the registry's one court; a claim bonds a tenth of the stake, pays a hundredth.
    expect(await deployer.public.readContract({ address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "derivationCourt" })).toBe(getAddress(deployment.derivationCourt!));
    expect(await deployer.public.readContract({ address: deployment.derivationCourt!, abi: DerivationCourtArtifact.abi, functionName: "bond" })).toBe(5n * USDC);
    expect(await deployer.public.readContract({ address: deployment.derivationCourt!, abi: DerivationCourtArtifact.abi, functionName: "fee" })).toBe(USDC / 2n);
    // 12 contracts (ModelRegistry deploys DatasetRegistry itself), 5 wiring calls, 1 self-transfer
    // measuring a fee on transfer: nothing else sent.
    expect((await nonce()) - before).toBe(18);
    const progress = JSON.parse(readFileSync(join(home.root, "deployment.progress.json"), "utf8")) as DeployProgress;
    expect(Object.keys(progress.steps)).toHaveLength(18);
    const gas = Object.values(progress.steps).reduce((sum, s) => sum + BigInt((s as { gasUsed?: string }).gasUsed ?? 0), 0n);
    expect(gas).toBeGreaterThan(0n);
    expect(BigInt(printed.gasUsed)).toBe(gas);
    expect(await deployer.public.readContract({ address: usdc, abi: erc20Abi, functionName: "balanceOf", args: [deployer.account.address] })).toBe(1_000n * USDC);
    process.stdout.write(`full deploy with an existing token: ${printed.gasUsed} gas\n`);
  });

  it("sets ServingVerification's terms from its flags, and refuses a bad one before sending anything", async () => {
    const before = await nonce();
    const over = await runGotong(["deploy", "--rpc-url", anvil.rpcUrl, "--key", keyFile, "--token", usdc, "--reporter-bps", "5000", "--validator-bps", "5001", "--out", join(home.root, "over.json")]);
    expect(over.code).toBe(1);
    expect(over.stderr).toContain("--reporter-bps 5000 and --validator-bps 5001 add up to 10001, over 10000");
    const zero = await runGotong(["deploy", "--rpc-url", anvil.rpcUrl, "--key", keyFile, "--token", usdc, "--report-bond", "0", "--out", join(home.root, "zero.json")]);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toContain("--report-bond must be more than 0");
    expect(await nonce()).toBe(before);
    expect(existsSync(join(home.root, "over.progress.json")) || existsSync(join(home.root, "zero.progress.json"))).toBe(false);

    const out = join(home.root, "terms.json");
    const flags = ["--validator-stake", "75", "--validator-unstake-delay", "2d", "--report-bond", "2.5", "--commit-period", "30m", "--reveal-period", "3h"];
    const splits = ["--slash-bps", "6000", "--reporter-bps", "1500", "--validator-bps", "2500", "--validator-penalty-bps", "500", "--honest-provider-bps", "4000"];
    const result = await runGotong(["deploy", "--rpc-url", anvil.rpcUrl, "--key", keyFile, "--token", usdc, ...flags, ...splits, "--out", out]);
    expect(result.code, result.stderr).toBe(0);
    const terms = readDeployment(out);
    const read = (functionName: string) => deployer.public.readContract({ address: terms.servingVerification!, abi: ServingVerificationArtifact.abi, functionName: functionName as never });
    // Read back from the chain, in the token's base units (6 decimals) and seconds.
    expect(await read("minValidatorStake")).toBe(75n * USDC);
    expect(await read("validatorUnstakeDelay")).toBe(2n * 86_400n);
    expect(await read("reportBond")).toBe(2_500_000n);
    expect(await read("commitPeriod")).toBe(1800n);
    expect(await read("revealPeriod")).toBe(3n * 3600n);
    expect(await read("slashBps")).toBe(6000);
    expect(await read("reporterBps")).toBe(1500);
    expect(await read("validatorBps")).toBe(2500);
    expect(await read("validatorPenaltyBps")).toBe(500);
    expect(await read("honestProviderBps")).toBe(4000);
    // The provider side keeps its defaults: the terms are ServingVerification's alone.
    expect(await deployer.public.readContract({ address: terms.providerRegistry, abi: ProviderRegistryArtifact.abi, functionName: "minStake" })).toBe(100n * USDC);
  });

  it("checks runtime code byte for byte, immutables aside", async () => {
    // ProviderRegistry's immutables (token, registry, stake) make its code differ from the build's
    // raw runtime code: the check must mask exactly those bytes and nothing else.
    const code = (await deployer.public.getCode({ address: deployment.providerRegistry }))!;
    expect(code).not.toBe(ProviderRegistryArtifact.deployedBytecode);
    expect(codeMismatch(code, ProviderRegistryArtifact)).toBeUndefined();
    // One byte just before the first immutable changed: caught, at that byte.
    const at = ProviderRegistryArtifact.immutables[0]!.start - 1;
    const byte = code.slice(2 + at * 2, 4 + at * 2);
    const flipped = `${code.slice(0, 2 + at * 2)}${byte === "ff" ? "00" : "ff"}${code.slice(4 + at * 2)}` as Hex;
    expect(codeMismatch(flipped, ProviderRegistryArtifact)).toBe(`the code differs from byte ${at} on`);
    expect(codeMismatch(code, PaymentChannelsArtifact)).toMatch(/bytes of code, the build has/);

    // A deployment that names the wrong contract is refused, naming the address and the contract.
    const wrong = { ...deployment, paymentChannels: deployment.modelRegistry };
    const error = await verifyDeployedCode(deployer.public, wrong, { testToken: false }).catch((e: unknown) => e);
    expect(isGotongError(error, "deploy_code_mismatch"), String(error)).toBe(true);
    expect((error as Error).message).toMatch(new RegExp(`^The code at ${deployment.modelRegistry} is not this build's PaymentChannels: `));
  });

  it("resumes a deploy cut after its first contract without deploying anything twice", async () => {
    const out = join(home.root, "cut.json");
    const before = await nonce();
    const cut = spawnGotong(["deploy", "--rpc-url", anvil.rpcUrl, "--key", keyFile, "--test-token", "--out", out]);
    await cut.waitFor(/deployed TestToken at 0x[0-9a-fA-F]{40}/);
    cut.child.kill("SIGKILL");
    await cut.exited;
    expect(existsSync(out)).toBe(false);
    const cutProgress = JSON.parse(readFileSync(join(home.root, "cut.progress.json"), "utf8")) as DeployProgress;
    const firstToken = (cutProgress.steps["deploy:TestToken"] as { address: Address }).address;
    expect(Object.keys(cutProgress.steps).length).toBeLessThan(18);

    const resumed = await runGotong(["deploy", "--rpc-url", anvil.rpcUrl, "--key", keyFile, "--test-token", "--out", out, "--json"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const second = readDeployment(out);
    expect(second.token).toEqual({ address: expect.any(String), symbol: "gUSD", decimals: 6 });
    expect(getAddress(second.token.address)).toBe(getAddress(firstToken));
    expect(second.startBlock).toBe(cutProgress.startBlock);
    // 13 contracts (the TestToken included) and 5 wiring calls, however the cut fell.
    expect((await nonce()) - before).toBe(18);
    const verified = (JSON.parse(resumed.stdout) as { verified: { contract: string }[] }).verified;
    expect(verified.map((v) => v.contract)[0]).toBe("TestToken");
    expect(verified).toHaveLength(14);
    process.stdout.write(`full deploy with --test-token: ${(JSON.parse(resumed.stdout) as { gasUsed: string }).gasUsed} gas\n`);

    // Run again once finished: it re-checks and rewrites the file, and sends nothing.
    const again = await runGotong(["deploy", "--rpc-url", anvil.rpcUrl, "--key", keyFile, "--test-token", "--out", out]);
    expect(again.code, again.stderr).toBe(0);
    expect(readDeployment(out)).toEqual(second);
    expect((await nonce()) - before).toBe(18);

    // Resuming with other options than the cut deploy had is refused, not mixed into it.
    const other = await runGotong(["deploy", "--rpc-url", anvil.rpcUrl, "--key", keyFile, "--test-token", "--protocol-fee-bps", "300", "--out", out]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("recorded deploy:PaymentChannels with other arguments or another build");
    expect((await nonce()) - before).toBe(18);
  });

  it("broadcasts a transaction recorded before a cut instead of signing a second one", async () => {
    // What a cut between writing the progress file and sending leaves: a signed, recorded TestToken
    // deployment the chain has never seen.
    const data = encodeDeployData({ abi: TestTokenArtifact.abi, bytecode: TestTokenArtifact.bytecode, args: ["Gotong Test USD", "gUSD", 6] });
    const request = await deployer.wallet.prepareTransactionRequest({ account: deployer.account, chain: deployer.chain, data } as never);
    const raw = await deployer.wallet.signTransaction(request as never);
    const first = await nonce();
    const address = getContractAddress({ from: deployer.account.address, nonce: BigInt(first) });
    const progress: DeployProgress = {
      version: 1,
      chainId: CHAIN_ID,
      deployer: deployer.account.address,
      startBlock: (await deployer.public.getBlockNumber()).toString(),
      steps: { "deploy:TestToken": { input: keccak256(data), nonce: first, hash: keccak256(raw), raw, address } },
    };
    writeFileSync(join(home.root, "recorded.progress.json"), JSON.stringify(progress));
    const result = await runGotong(["deploy", "--rpc-url", anvil.rpcUrl, "--key", keyFile, "--test-token", "--out", join(home.root, "recorded.json")]);
    expect(result.code, result.stderr).toBe(0);
    expect(getAddress(readDeployment(join(home.root, "recorded.json")).token.address)).toBe(address);
    expect((await deployer.public.getTransactionReceipt({ hash: keccak256(raw) })).status).toBe("success");
    expect((await nonce()) - first).toBe(18);
  });

  it("serves a paid chat with a provider and a gateway started against the deployment file", async () => {
    const logger = quietLogger();
    const creatorKey = generatePrivateKey();
    const providerKey = generatePrivateKey();
    const gatewayKey = generatePrivateKey();
    for (const [key, tokens] of [[creatorKey, 0n], [providerKey, 100n * USDC], [gatewayKey, 100n * USDC]] as const) await fund(privateKeyToAccount(key).address, tokens);
    const fromFile = readDeployment(join(home.root, "deployment.json"));
    const creator = createClients({ rpcUrl: fromFile.rpcUrl, rpcUrls: fromFile.rpcUrls, chainId: fromFile.chainId, account: privateKeyToAccount(creatorKey) });
    const model = await chatModel(home.models);
    const { modelId } = await registerModel(creator, fromFile, { path: model.path, name: model.name, royaltyBps: 1000, manifestsDir: home.manifests });
    const provider = await startProvider({ home, deployment: fromFile, privateKey: providerKey, modelPath: model.path, modelId, price: DEFAULT_PRICE, port: 0, threads: 1, redeemIntervalMs: 3_600_000, logger });
    try {
      const gateway = await startGateway({ home, deployment: fromFile, privateKey: gatewayKey, port: 0, deposit: 10n * USDC, logger });
      try {
        // The file's first RPC endpoint vanishes: every role carries on through the second.
        const seen = proxy.calls.length;
        proxy.setFault(() => "gone");
        const res = await postChat(gateway.baseUrl, model.name, "Once upon a time", { max_tokens: 8 });
        expect(res.status, await res.clone().text()).toBe(200);
        const cost = BigInt(res.headers.get("x-gotong-cost")!);
        await res.json();
        expect(cost).toBeGreaterThan(0n);
        await gateway.settle();
        const redeemed = await provider.redeemer.redeemNow();
        expect(redeemed.amount).toBe(cost);
        const earnings = (who: Address) => creator.public.readContract({ address: fromFile.paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "earnings", args: [who] });
        const royalty = (cost * 1000n) / 10_000n;
        const fee = (cost * 150n) / 10_000n;
        expect(await creator.public.readContract({ address: fromFile.paymentChannels, abi: PaymentChannelsArtifact.abi, functionName: "modelEarnings", args: [modelId] })).toBe(royalty);
        expect(await earnings(fromFile.fundingPool)).toBe(fee);
        expect(await earnings(provider.address)).toBe(cost - royalty - fee);
        expect(proxy.calls.length, "the first endpoint was tried").toBeGreaterThan(seen);
      } finally {
        await gateway.stop();
      }
    } finally {
      await provider.stop();
    }
  }, 240_000);
});
