import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { erc20Abi, parseAbi, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createClients, type ChainClients } from "../../src/chain/createClients.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { hashFile } from "../../src/model/hashFile.ts";
import { createLlamaBackend } from "../../src/provider/createLlamaBackend.ts";
import { ensureProviderRegistered } from "../../src/provider/ensureProviderRegistered.ts";
import { encodeEvidence, hashEvidenceReceipt, type Evidence } from "../../src/verification/index.ts";
import { serveBody, signEvidence } from "../../src/verification/evidenceFixtures.ts";
import { recoverValidationSigner, validationDomain } from "../../src/validator/validationSignature.ts";
import { ServingVerificationArtifact } from "../../src/chain/contracts.generated.ts";
import { OUTCOME } from "../../src/validator/caseOutcome.ts";
import { startValidator, type RunningValidator } from "../../src/validator/startValidator.ts";
import { sharedModel } from "../fixtures/model/sharedModels.ts";
import { DEFAULT_PRICE, quietLogger, startTestNetwork, UNIT, type TestNetwork } from "../helpers/network.ts";
import { waitFor } from "../helpers/waitFor.ts";
import { runGotong, spawnGotong, type CliProcess } from "../helpers/cli.ts";

const stories = sharedModel("stories260K");
if (!stories) console.warn("Skipping the validator daemon e2e: stories260K is not in /work/shared/models (the re-run needs real weights).");

/** Terms and views of the contracts the test asserts amounts with. */
const termsAbi = parseAbi([
  "function reportBond() view returns (uint256)",
  "function slashBps() view returns (uint16)",
  "function reporterBps() view returns (uint16)",
  "function validatorBps() view returns (uint16)",
  "function honestProviderBps() view returns (uint16)",
  "function providerRecord(address provider) view returns (uint64 challengesPassed, uint64 challengesFailed, uint256 slashedAmount, bool suspended)",
  "function slashableStake(address provider) view returns (uint256)",
]);
const BPS = 10_000n;

describe.skipIf(!stories)("validator daemons on a devnet: commit, reveal, finalize", () => {
  let net: TestNetwork;
  let sv: Address;
  let modelId: bigint;
  let weightsHash: Hex;
  let provider: ReturnType<typeof privateKeyToAccount>;
  let reporter: ChainClients;
  /** Two validators in this process, the third a `gotong validator start` of its own. */
  const inProcess: RunningValidator[] = [];
  let cli: CliProcess;
  let cliKeyFile: string;
  const validators: { address: Address; url: string }[] = [];
  const domain = () => ({ chainId: net.devnet.deployment.chainId, verifyingContract: net.devnet.deployment.paymentChannels });
  const read = <T>(functionName: string, args: readonly unknown[] = [], address: Address = sv) =>
    net.creator.public.readContract({ address, abi: [...termsAbi, ...ServingVerificationArtifact.abi], functionName, args } as never) as Promise<T>;
  const earnings = (account: Address) => read<bigint>("earnings", [account]);

  beforeAll(async () => {
    net = await startTestNetwork();
    const { deployment } = net.devnet;
    sv = (deployment as typeof deployment & { servingVerification: Address }).servingVerification;
    if (!sv) throw new Error("The devnet deployed no ServingVerification (no `servingVerification` in its deployment): this test needs it in deployContracts");
    modelId = await net.publish(stories!, "stories260K");
    weightsHash = `0x${await hashFile(stories!)}`;

    // The provider only needs to be registered and staked to be reported: its signature is the evidence.
    const providerKey = generatePrivateKey();
    provider = privateKeyToAccount(providerKey);
    await fundOnDevnet(deployment, provider.address, { tokens: 1_000n * UNIT });
    const providerClients = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: provider });
    await ensureProviderRegistered(providerClients, deployment, { endpoint: "http://127.0.0.1:9", hpkePublicKey: `0x${"42".repeat(32)}`, offers: [{ modelId, price: DEFAULT_PRICE, capabilities: ["chat"] }] });

    const reporterKey = generatePrivateKey();
    await fundOnDevnet(deployment, privateKeyToAccount(reporterKey).address, { tokens: 1_000n * UNIT });
    reporter = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(reporterKey) });

    for (let i = 0; i < 2; i++) {
      const key = generatePrivateKey();
      await fundOnDevnet(deployment, privateKeyToAccount(key).address, { tokens: 1_000n * UNIT });
      const validator = await startValidator({ home: net.home, deployment, privateKey: key, modelPaths: [stories!], port: 0, pollMs: 300, attestIntervalMs: 3_600_000, logger: quietLogger() });
      inProcess.push(validator);
      validators.push(validator);
    }
    const cliKey = generatePrivateKey();
    cliKeyFile = join(net.home.keys, "third-validator.key");
    writeFileSync(cliKeyFile, cliKey + "\n", { mode: 0o600 });
    cli = spawnGotong(["validator", "start", "--model", stories!, "--port", "0", "--key", cliKeyFile, "--json"], { GOTONG_HOME: net.home.root });
    await cli.waitFor(/"url":"[^"]+"/, 120_000);
    const started = JSON.parse(cli.stdout().trim().split("\n").at(-1)!) as { url: string; address: Address };
    expect(started.address).toBe(privateKeyToAccount(cliKey).address);
    validators.push(started);
  }, 240_000);

  afterAll(async () => {
    if (cli && cli.child.exitCode === null) cli.child.kill("SIGKILL");
    for (const v of inProcess) await v.stop().catch(() => {});
    await net?.stop();
  });

  /** Reports evidence as a gateway would (bond approved) and returns the case id. */
  async function report(evidence: Evidence): Promise<Hex> {
    const bond = await read<bigint>("reportBond");
    await writeAndWait(reporter, { address: net.devnet.deployment.token.address, abi: erc20Abi, functionName: "approve", args: [sv, bond] });
    const { result } = await writeAndWait(reporter, {
      address: sv,
      abi: ServingVerificationArtifact.abi,
      functionName: "report",
      args: [evidence.provider, { ...evidence.receipt, signature: undefined } as never, evidence.receipt.signature, `0x${Buffer.from(evidence.request).toString("hex")}`, `0x${Buffer.from(evidence.response).toString("hex")}`],
    });
    return result as Hex;
  }

  const decided = async (caseId: Hex) => {
    let outcome = 0;
    await waitFor(async () => {
      outcome = (await read<{ outcome: number }>("getCase", [caseId])).outcome;
      return outcome !== OUTCOME.open;
    }, { what: `case ${caseId} decided`, timeoutMs: 120_000, intervalMs: 500 });
    return outcome;
  };

  it("an honest provider's answer ends honest: nothing slashed, the bond paid to the provider and the validators", async () => {
    const body = { messages: [{ role: "user", content: "Tell me a story about a cat." }], temperature: 0, seed: 7, max_tokens: 24 };
    const backend = await createLlamaBackend({ modelPath: stories!, threads: 1, parallel: 1 });
    let served;
    try {
      served = await serveBody(backend, body);
    } finally {
      await backend.dispose();
    }
    const evidence = await signEvidence(provider, domain(), { body, text: served.text, inputTokens: served.inputTokens, outputTokens: served.outputTokens, weightsHash });

    // Asked first, as a gateway would before it bonds: a signed "honest", counted as a pass.
    const asked = await fetch(`${validators[0]!.url}/gotong/validate`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(encodeEvidence(evidence)) });
    expect(asked.status).toBe(200);
    const answer = (await asked.json()) as { signature: `0x${string}` };
    expect(answer).toMatchObject({ fraud: false, reason: "ok", validator: validators[0]!.address });
    const digest = hashEvidenceReceipt(evidence, domain());
    expect(await recoverValidationSigner(validationDomain(net.devnet.deployment.chainId, sv), { evidence: digest, fraud: false, reason: "ok" }, answer.signature)).toBe(validators[0]!.address);
    expect(await inProcess[0]!.batcher.flush()).toBe(1);

    const stakeBefore = await read<bigint>("slashableStake", [provider.address], net.devnet.deployment.providerRegistry);
    const bond = await read<bigint>("reportBond");
    const honestProviderBps = BigInt(await read<number>("honestProviderBps"));
    const before = await Promise.all(validators.map((v) => earnings(v.address)));
    const caseId = await report(evidence);
    expect(caseId).toBe(digest);
    expect(await decided(caseId)).toBe(OUTCOME.honest);

    expect(await read<bigint>("slashableStake", [provider.address], net.devnet.deployment.providerRegistry)).toBe(stakeBefore);
    const toProvider = (bond * honestProviderBps) / BPS;
    expect(await earnings(provider.address)).toBe(toProvider);
    const each = (bond - toProvider) / 3n; // all three in the quorum
    const after = await Promise.all(validators.map((v) => earnings(v.address)));
    expect(after.map((a, i) => a - before[i]!)).toEqual([each, each, each]);
    const [passed, failed, slashed, suspended] = await read<[bigint, bigint, bigint, boolean]>("providerRecord", [provider.address]);
    expect({ passed, failed, slashed, suspended }).toEqual({ passed: 2n, failed: 0n, slashed: 0n, suspended: false }); // 1 attested + 1 honest verdict
  }, 240_000);

  it("an answer the weights did not produce ends fraud: the provider's ERC-20 stake slashed and split to the base unit", async () => {
    const body = { messages: [{ role: "user", content: "Tell me a story about a dog." }], temperature: 0, seed: 11, max_tokens: 24 };
    const evidence = await signEvidence(provider, domain(), { body, text: "I AM A DIFFERENT MODEL", inputTokens: 10, outputTokens: 6, weightsHash });
    const { deployment } = net.devnet;
    const slashable = await read<bigint>("slashableStake", [provider.address], deployment.providerRegistry);
    expect(slashable).toBe(BigInt(deployment.minStake));
    const [slashBps, reporterBps, validatorBps, bond] = await Promise.all([read<number>("slashBps"), read<number>("reporterBps"), read<number>("validatorBps"), read<bigint>("reportBond")]);
    const registryBalance = () => net.creator.public.readContract({ address: deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [deployment.providerRegistry] });
    const registryBefore = await registryBalance();
    const reporterBefore = await earnings(reporter.account.address);
    const validatorsBefore = await Promise.all(validators.map((v) => earnings(v.address)));

    const caseId = await report(evidence);
    expect(await decided(caseId)).toBe(OUTCOME.fraud);

    const slashed = (slashable * BigInt(slashBps)) / BPS;
    expect(await registryBalance()).toBe(registryBefore - slashed);
    expect(await read<bigint>("slashableStake", [provider.address], deployment.providerRegistry)).toBe(slashable - slashed);
    const toReporter = (slashed * BigInt(reporterBps)) / BPS;
    expect(await earnings(reporter.account.address)).toBe(reporterBefore + bond + toReporter);
    const each = ((slashed * BigInt(validatorBps)) / BPS) / 3n;
    const after = await Promise.all(validators.map((v) => earnings(v.address)));
    expect(after.map((a, i) => a - validatorsBefore[i]!)).toEqual([each, each, each]);
    const [, failed, slashedAmount, suspended] = await read<[bigint, bigint, bigint, boolean]>("providerRecord", [provider.address]);
    expect({ failed, slashedAmount, suspended }).toEqual({ failed: 1n, slashedAmount: slashed, suspended: true });
    for (const v of validators) {
      const [agreed, disagreed, missed] = await read<[bigint, bigint, bigint, bigint]>("validatorRecord", [v.address]);
      expect({ agreed, disagreed, missed }).toEqual({ agreed: 2n, disagreed: 0n, missed: 0n });
    }
  }, 240_000);

  it("`gotong validator status --json` shows the CLI validator's stake and record, and SIGINT stops it cleanly", async () => {
    const statusOf = async () => {
      const status = await runGotong(["validator", "status", "--key", cliKeyFile, "--json"], { GOTONG_HOME: net.home.root });
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).not.toMatch(/salt/);
      return JSON.parse(status.stdout);
    };
    // The CLI validator closes its vote once it reads the verdict (at its next round, 2 s apart).
    const report = await waitFor(async () => {
      const r = await statusOf();
      return r.votes.length === 0 && r;
    }, { what: "the CLI validator's votes closed", timeoutMs: 30_000, intervalMs: 1_000 });
    const minStake = await read<bigint>("minValidatorStake");
    expect(report).toMatchObject({ address: validators[2]!.address, registered: true, active: true, stake: minStake.toString(), record: { agreed: "2", disagreed: "0", missed: "0" }, openCases: 0, endpoint: validators[2]!.url, votes: [] });
    expect(report.running.pid).toBe(cli.child.pid);
    cli.child.kill("SIGINT");
    expect(await cli.exited).toBe(0);
    expect(cli.stderr()).toMatch(/validator stopped/);
  }, 60_000);
});
