import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { erc20Abi, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClients, type ChainClients } from "../../src/chain/createClients.ts";
import { DerivationCourtArtifact, ModelRegistryArtifact, PaymentChannelsArtifact } from "../../src/chain/contracts.generated.ts";
import type { Deployment } from "../../src/chain/deployment.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { hashFile } from "../../src/model/hashFile.ts";
import { startValidator, type RunningValidator } from "../../src/validator/startValidator.ts";
import { quantizeGguf } from "../../src/verification/quantizeGguf.ts";
import { sharedModel } from "../fixtures/model/sharedModels.ts";
import { writeShuffledCopy } from "../fixtures/model/writeShuffledCopy.ts";
import { cliInHome } from "../helpers/cliInHome.ts";
import { quietLogger, startTestNetwork, UNIT, type TestNetwork } from "../helpers/network.ts";
import { postChat } from "../helpers/postChat.ts";
import { readCost } from "../helpers/readCost.ts";

const stories = sharedModel("stories260K");
if (!stories) console.warn("Skipping the derivation dispute e2e: stories260K is not in /work/shared/models (validators run both models' real weights).");

/**
 * An undeclared derivative, disputed and decided by validators, end to end on a devnet with the
 * shipped CLI: the creator publishes stories260K asking 30 % of its derivatives; a copier registers
 * a Q8_0 quantisation of it straight at the contract (the CLI would refuse it: it plainly is the
 * base), and a same-shape model with other weights. Three real validators run both models of each
 * dispute. The quantisation is ruled a derivative: the base joins its lineage at 30 %, and a paid
 * request to the copy then pays the base exactly 30 % of its royalty. The unrelated model is ruled
 * not a derivative: the bond goes to its owner. Bonds and fees are asserted to the base unit.
 */
describe.skipIf(!stories)("an undeclared derivative, disputed and decided by validators", () => {
  let net: TestNetwork;
  let deployment: Deployment;
  let court: Address;
  let baseId: bigint;
  let copyId: bigint;
  let otherId: bigint;
  let q8Path: string;
  let bond: bigint;
  let fee: bigint;
  const validators: RunningValidator[] = [];
  const dir = mkdtempSync(join(tmpdir(), "gotong-dispute-"));
  const copierKey = generatePrivateKey();
  const copier = privateKeyToAccount(copierKey).address;
  let creatorKeyFile: string;
  let copierKeyFile: string;
  let copierClients: ChainClients;

  const TERMS_BPS = 3000n;
  const cli = () => cliInHome(net.home.root);
  const json = <T>(...args: string[]) => cli().json<T>(...args);
  const refused = (pattern: RegExp, ...args: string[]) => cli().refused(pattern, ...args);
  const read = <T>(address: Address, abi: readonly unknown[], functionName: string, args: readonly unknown[] = []) =>
    net.creator.public.readContract({ address, abi, functionName, args } as never) as Promise<T>;
  const courtEarnings = (account: Address) => read<bigint>(court, DerivationCourtArtifact.abi, "earnings", [account]);
  /** Registers a file as the copier, straight at the contract: no CLI check, no parent named. */
  const registerAsCopier = async (path: string, name: string) => {
    const weightsHash = `0x${await hashFile(path)}` as Hex;
    const { result } = await writeAndWait(copierClients, { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "register", args: [name, weightsHash, weightsHash, `file://${path}`, 1000] });
    return result as bigint;
  };

  beforeAll(async () => {
    net = await startTestNetwork();
    deployment = net.devnet.deployment;
    if (!deployment.derivationCourt) throw new Error("The devnet deployed no DerivationCourt: this test needs it in deployContracts");
    court = deployment.derivationCourt;
    [bond, fee] = await Promise.all([read<bigint>(court, DerivationCourtArtifact.abi, "bond"), read<bigint>(court, DerivationCourtArtifact.abi, "fee")]);
    creatorKeyFile = join(dir, "creator.key");
    writeFileSync(creatorKeyFile, net.creatorKey + "\n", { mode: 0o600 });
    copierKeyFile = join(dir, "copier.key");
    writeFileSync(copierKeyFile, copierKey + "\n", { mode: 0o600 });
    await fundOnDevnet(deployment, copier, { tokens: 1_000n * UNIT });
    await fundOnDevnet(deployment, net.creator.account.address, { tokens: 1_000n * UNIT });
    copierClients = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: privateKeyToAccount(copierKey) });

    baseId = await net.publish(stories!, "stories260K");
    q8Path = join(dir, "stories260K-q8_0.gguf");
    await quantizeGguf(stories!, q8Path, "Q8_0");
    const otherPath = join(dir, "stories260K-shuffled.gguf");
    await writeShuffledCopy(stories!, otherPath);
    copyId = await registerAsCopier(q8Path, "stories260K-q8");
    otherId = await registerAsCopier(otherPath, "tiny-stories-other");

    for (let i = 0; i < 3; i++) {
      const key = generatePrivateKey();
      await fundOnDevnet(deployment, privateKeyToAccount(key).address, { tokens: 1_000n * UNIT });
      validators.push(await startValidator({ home: net.home, deployment, privateKey: key, modelPaths: [stories!, q8Path, otherPath], port: 0, pollMs: 300, attestIntervalMs: 3_600_000, logger: quietLogger() }));
    }
  }, 240_000);

  afterAll(async () => {
    for (const v of validators) await v.stop().catch(() => {});
    await net?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses claims the court would refuse, before anything is sent", async () => {
    await refused(/asks no share of its derivatives[\s\S]*set-derivative-terms/, "model", "dispute", "open", `${copyId}`, "--parent", `${baseId}`, "--relation", "quantisation", "--key", creatorKeyFile);
    await json("model", "set-derivative-terms", `${baseId}`, `${TERMS_BPS}`, "--key", creatorKeyFile);
    await refused(/is owned by 0x[0-9a-fA-F]{40}, not by/, "model", "dispute", "open", `${copyId}`, "--parent", `${baseId}`, "--relation", "quantisation", "--key", copierKeyFile);
    await refused(/was registered after/, "model", "dispute", "open", `${baseId}`, "--parent", `${copyId}`, "--relation", "quantisation", "--key", copierKeyFile);
    await refused(/is not a model relation/, "model", "dispute", "open", `${copyId}`, "--parent", `${baseId}`, "--relation", "photocopy", "--key", creatorKeyFile);
    await refused(/No model #99/, "model", "dispute", "open", "99", "--parent", `${baseId}`, "--relation", "quantisation", "--key", creatorKeyFile);
    expect(await read<bigint>(deployment.token.address, erc20Abi, "balanceOf", [court])).toBe(0n);
  });

  it("rules the quantisation a derivative: the base joins its lineage at its terms, the bond comes back, the fee pays the validators", async () => {
    const opened = await json<{ outcome: string; shareBps: number; validators: Address[]; caseId: Hex; bond: string; fee: string }>(
      "model", "dispute", "open", `${copyId}`, "--parent", `${baseId}`, "--relation", "quantisation", "--wait", "--timeout", "3m", "--key", creatorKeyFile,
    );
    expect(opened.outcome).toBe("derivative");
    expect(opened.shareBps).toBe(Number(TERMS_BPS));
    expect([BigInt(opened.bond), BigInt(opened.fee)]).toEqual([bond, fee]);

    const parents = await read<readonly { modelId: bigint; relation: number; shareBps: number }[]>(deployment.modelRegistry, ModelRegistryArtifact.abi, "parentsOf", [copyId]);
    expect(parents).toEqual([{ modelId: baseId, relation: 3, shareBps: Number(TERMS_BPS) }]);
    const lineage = await json<{ parents: { relation: string; shareBps: number; model: { modelId: string } }[] }>("model", "lineage", `${copyId}`);
    expect(lineage.parents.map((p) => [p.model.modelId, p.relation, p.shareBps])).toEqual([[`${baseId}`, "quantisation", Number(TERMS_BPS)]]);

    // Every drawn validator voted "derivative": the fee is split three ways, the dust to the first seat.
    const each = fee / 3n;
    const drawn = opened.validators;
    expect(await Promise.all(drawn.map(courtEarnings))).toEqual([each + (fee - 3n * each), each, each]);
    expect(await courtEarnings(net.creator.account.address)).toBe(bond);
    expect(await courtEarnings(copier)).toBe(0n);
    expect(await read<bigint>(deployment.token.address, erc20Abi, "balanceOf", [court])).toBe(bond + fee);

    const before = await read<bigint>(deployment.token.address, erc20Abi, "balanceOf", [net.creator.account.address]);
    const withdrawn = await json<{ amount: string }>("model", "dispute", "withdraw", "--key", creatorKeyFile);
    expect(BigInt(withdrawn.amount)).toBe(bond);
    expect(await read<bigint>(deployment.token.address, erc20Abi, "balanceOf", [net.creator.account.address])).toBe(before + bond);
    await refused(/owes 0x[0-9a-fA-F]{40} nothing/, "model", "dispute", "withdraw", "--key", creatorKeyFile);
  }, 240_000);

  it("pays the base exactly its share of the copy's royalty from paid requests after the verdict", async () => {
    const provider = await net.provider(q8Path, { modelId: copyId, price: { pricePerMillionInput: 1_000_000_000n, pricePerMillionOutput: 2_000_000_000n } });
    const gateway = await net.gateway();
    let costs = 0n;
    for (const prompt of ["Once upon a time", "A cat sat"]) {
      const res = await postChat(gateway.baseUrl, "stories260K-q8", prompt, { max_tokens: 6 });
      expect(res.status).toBe(200);
      costs += (await readCost(res)).cost!;
    }
    await gateway.settle();
    const redeemed = (await provider.redeemer.redeemNow()).amount;
    expect(redeemed).toBe(costs);
    const royalty = (redeemed * 1000n) / 10_000n;
    const toBase = (royalty * TERMS_BPS) / 10_000n;
    expect(toBase).toBeGreaterThan(0n);

    const channels = { address: deployment.paymentChannels, abi: PaymentChannelsArtifact.abi } as const;
    const pendingBefore = await read<bigint>(channels.address, channels.abi, "pendingRoyalties", [baseId]);
    await writeAndWait(copierClients, { ...channels, functionName: "flowRoyalties", args: [copyId] });
    expect(await read<bigint>(channels.address, channels.abi, "pendingRoyalties", [baseId])).toBe(pendingBefore + toBase);
    expect(await read<bigint>(channels.address, channels.abi, "withdrawableModelEarnings", [copyId])).toBe(royalty - toBase);
  }, 180_000);

  it("rules a same-shape model with other weights not a derivative: the bond goes to its owner, the lineage is unchanged", async () => {
    const copierBefore = await courtEarnings(copier);
    const decided = await json<{ outcome: string; validators: Address[] }>(
      "model", "dispute", "open", `${otherId}`, "--parent", `${baseId}`, "--relation", "fine-tune", "--wait", "--timeout", "3m", "--key", creatorKeyFile,
    );
    expect(decided.outcome).toBe("not_derivative");
    expect(await courtEarnings(copier)).toBe(copierBefore + bond);
    expect(await read<readonly unknown[]>(deployment.modelRegistry, ModelRegistryArtifact.abi, "parentsOf", [otherId])).toEqual([]);
    const records = await Promise.all(decided.validators.map((v) => read<{ agreed: bigint; disagreed: bigint; missed: bigint }>(court, DerivationCourtArtifact.abi, "validatorRecord", [v])));
    expect(records.every((r) => r.agreed === 2n && r.disagreed === 0n && r.missed === 0n)).toBe(true);
  }, 240_000);
});
