/**
 * Gas of quadratic funding on a real node (Anvil), for rounds of 10, 100 and 1,000 projects with two
 * donors each:
 *
 *   - a donation to QuadraticFunding, which updates the project's matching inputs on-chain at
 *     constant gas (a donor's first donation to a project, and a repeat one), against
 *   - a donation to a baseline that stores every donation as a record and leaves matching to an
 *     off-chain computation (contracts/test/bench/StoredDonationsBaseline.sol);
 *   - finalization: QuadraticFunding's one pass over projects computing every match on-chain,
 *     against the baseline's operator posting each project's match (trusted, unverifiable on-chain).
 *
 *   npx tsx bench/fundingGas.ts     writes bench/results/funding-gas.json and the README's funding table
 *   npm run bench                   includes it in bench/results/latest.json
 */
import { readFileSync, realpathSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createPublicClient, createWalletClient, erc20Abi, http, keccak256, toHex, zeroAddress, type Abi, type Address, type Hex, type TransactionReceipt } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { AttestationRegistryArtifact, QuadraticFundingArtifact, TestTokenArtifact } from "../src/chain/contracts.generated.ts";
import { createClients, type ChainClients } from "../src/chain/createClients.ts";
import { deployContracts } from "../src/chain/deployContracts.ts";
import { startAnvil } from "../src/chain/startAnvil.ts";
import { DEVNET_DEPLOYER_KEY } from "../src/chain/startDevnet.ts";
import { advanceTime } from "../test/helpers/advanceTime.ts";
import { freePort } from "../test/helpers/ports.ts";
import { fillReadme } from "./fillReadme.ts";
import { bigintAsString } from "../src/common/bigintJson.ts";

const root = join(import.meta.dirname, "..");
const require = createRequire(import.meta.url);

/** Compiles the baseline with the same settings as every Gotong contract (solc npm, optimizer 200, cancun). */
function compileBaseline(): { abi: Abi; bytecode: Hex } {
  const solc = require("solc");
  const ozDir = join(require.resolve("@openzeppelin/contracts/package.json"), "..");
  const unit = "test/bench/StoredDonationsBaseline.sol";
  const input = {
    language: "Solidity",
    sources: { [unit]: { content: readFileSync(join(root, "contracts", unit), "utf8") } },
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "cancun", outputSelection: { [unit]: { StoredDonationsBaseline: ["abi", "evm.bytecode.object"] } } },
  };
  const findImports = (path: string) => {
    const prefix = "@openzeppelin/contracts/";
    try {
      return { contents: readFileSync(path.startsWith(prefix) ? join(ozDir, path.slice(prefix.length)) : join(root, "contracts", path), "utf8") };
    } catch {
      return { error: `not found: ${path}` };
    }
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (output.errors ?? []).filter((e: { severity: string }) => e.severity === "error");
  if (errors.length) throw new Error(errors.map((e: { formattedMessage: string }) => e.formattedMessage).join("\n"));
  const contract = output.contracts[unit].StoredDonationsBaseline;
  return { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` };
}

type Call = { address: Address; abi: Abi | readonly unknown[]; functionName: string; args: readonly unknown[] };

/** Sends transactions back to back from one account (explicit nonces, no simulation) and returns their receipts. */
async function sendAll(clients: ChainClients, calls: Call[]): Promise<TransactionReceipt[]> {
  let nonce = await clients.public.getTransactionCount({ address: clients.account.address, blockTag: "pending" });
  const hashes: Hex[] = [];
  for (const call of calls) {
    hashes.push(await clients.wallet.writeContract({ ...call, account: clients.account, nonce: nonce++, gas: 29_000_000n } as never));
  }
  const receipts: TransactionReceipt[] = [];
  for (const hash of hashes) {
    const receipt = await clients.public.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`${calls[receipts.length]?.functionName} reverted (${hash})`);
    receipts.push(receipt);
  }
  return receipts;
}

const mean = (receipts: TransactionReceipt[]) => receipts.reduce((sum, r) => sum + r.gasUsed, 0n) / BigInt(receipts.length);

/** One row of results: a round of `projects` projects. */
export type FundingGasRow = {
  projects: number;
  /** Mean gas of a project's very first donation (its matching inputs start from zero). */
  firstDonationGas: bigint;
  /** Mean gas of a donation by a further donor (the common case). */
  donationGas: bigint;
  /** Mean gas of a repeat donation by the same donor to the same project. */
  repeatDonationGas: bigint;
  /** Gas of `finalize`: every match computed on-chain in one pass. */
  finalizeGas: bigint;
  /** Gas of one claim (donations + match paid). */
  claimGas: bigint;
  /** The baseline's mean gas of a project's first donation (one stored record). */
  baselineFirstDonationGas: bigint;
  /** The baseline's mean gas of a further donation, repeat or not (one stored record each). */
  baselineDonationGas: bigint;
  /** The baseline's gas to post every project's match computed off-chain. */
  baselinePostMatchesGas: bigint;
};

/** Measures every size; returns the rows and the gas of a donation to an attestation-gated round. */
export async function benchFundingGas(sizes: number[] = [10, 100, 1000]) {
  const anvil = await startAnvil({ port: await freePort() });
  try {
    const deployer = createClients({ rpcUrl: anvil.rpcUrl, chainId: 31337, account: privateKeyToAccount(DEVNET_DEPLOYER_KEY) });
    const deployment = await deployContracts(deployer, { rpcUrl: anvil.rpcUrl });
    const qf = { address: deployment.quadraticFunding!, abi: QuadraticFundingArtifact.abi } as const;
    const token = deployment.token.address;
    const baselineArtifact = compileBaseline();
    const deployHash = await deployer.wallet.deployContract({ abi: baselineArtifact.abi, bytecode: baselineArtifact.bytecode });
    const baseline = { address: (await deployer.public.waitForTransactionReceipt({ hash: deployHash })).contractAddress!, abi: baselineArtifact.abi };

    // A JSON-RPC wallet for impersonated accounts (the projects), and two donors with keys.
    const transport = http(anvil.rpcUrl);
    const rpc = createPublicClient({ chain: deployer.chain, transport, pollingInterval: 20 });
    const impersonated = { ...deployer, wallet: createWalletClient({ chain: deployer.chain, transport }) as unknown as ChainClients["wallet"] };
    const donors = [0, 1].map(() => createClients({ rpcUrl: anvil.rpcUrl, chainId: 31337, account: privateKeyToAccount(generatePrivateKey()) }));
    for (const donor of donors) {
      await rpc.request({ method: "anvil_setBalance" as never, params: [donor.account.address, "0x56BC75E2D63100000"] as never });
      await sendAll(deployer, [{ address: token, abi: TestTokenArtifact.abi, functionName: "mint", args: [donor.account.address, 10n ** 30n] }]);
      await sendAll(donor, [
        { address: token, abi: erc20Abi, functionName: "approve", args: [qf.address, 2n ** 255n] },
        { address: token, abi: erc20Abi, functionName: "approve", args: [baseline.address, 2n ** 255n] },
      ]);
    }
    await sendAll(deployer, [
      { address: token, abi: TestTokenArtifact.abi, functionName: "mint", args: [deployer.account.address, 10n ** 30n] },
      { address: token, abi: erc20Abi, functionName: "approve", args: [qf.address, 2n ** 255n] },
    ]);
    const now = async () => (await rpc.getBlock()).timestamp;
    const day = 86_400n;
    const params = (start: bigint, extra: Partial<{ attestations: Address; issuers: Address[] }> = {}) => ({
      token,
      applicationStart: start,
      applicationEnd: start + day,
      donationStart: start,
      donationEnd: start + day,
      matchingCapBps: 10_000,
      usageWeightBps: 0,
      donorCap: 0n,
      attestations: extra.attestations ?? zeroAddress,
      issuers: extra.issuers ?? [],
    });

    const rows: FundingGasRow[] = [];
    let nextProject = 0x100000;
    for (const n of sizes) {
      const start = await now();
      const [created] = await sendAll(deployer, [{ ...qf, functionName: "createRound", args: [params(start)] }]);
      const roundId = BigInt(created!.logs.find((l) => l.address.toLowerCase() === qf.address.toLowerCase())!.topics[1]!);
      // n address projects, each applying from its own (impersonated) address.
      const projects: Address[] = [];
      for (let i = 0; i < n; i++) projects.push(`0x${(nextProject++).toString(16).padStart(40, "0")}` as Address);
      for (const p of projects) {
        await rpc.request({ method: "anvil_impersonateAccount" as never, params: [p] as never });
        await rpc.request({ method: "anvil_setBalance" as never, params: [p, "0xDE0B6B3A7640000"] as never });
      }
      const applyHashes: Hex[] = [];
      for (const p of projects) applyHashes.push(await impersonated.wallet.writeContract({ ...qf, functionName: "applyProject", args: [roundId, 0n], account: p as never, gas: 300_000n } as never));
      for (const hash of applyHashes) await rpc.waitForTransactionReceipt({ hash });

      // Two donors to every project (first donations), then one repeat donation per project.
      const donations = (amount: bigint) => projects.map((_, i) => ({ ...qf, functionName: "donate", args: [roundId, BigInt(i + 1), amount + BigInt(i)] }));
      const first = await sendAll(donors[0]!, donations(3_000_000n));
      const second = await sendAll(donors[1]!, donations(5_000_000n));
      const repeat = await sendAll(donors[0]!, donations(1_000_000n).slice(0, Math.min(n, 100)));
      await sendAll(deployer, [{ ...qf, functionName: "fundPool", args: [roundId, 1_000_000_000n] }]);

      // The baseline: same round size, same donations.
      await sendAll(deployer, [{ ...baseline, functionName: "createRound", args: [token, start, start + day, n] }]);
      const baselineRoundId = (await rpc.readContract({ ...baseline, functionName: "roundCount" } as never)) as bigint;
      const bDonations = (amount: bigint) => projects.map((_, i) => ({ ...baseline, functionName: "donate", args: [baselineRoundId, BigInt(i + 1), amount + BigInt(i)] }));
      const bFirst = await sendAll(donors[0]!, bDonations(3_000_000n));
      const bSecond = await sendAll(donors[1]!, bDonations(5_000_000n));

      await advanceTime(rpc, day);
      const [finalized] = await sendAll(deployer, [{ ...qf, functionName: "finalize", args: [roundId] }]);
      const claimHash = await impersonated.wallet.writeContract({ ...qf, functionName: "claim", args: [roundId, 1n, projects[0]!], account: projects[0]! as never, gas: 300_000n } as never);
      const claimed = await rpc.waitForTransactionReceipt({ hash: claimHash });
      const matches = projects.map((_, i) => 1_000_000n + BigInt(i));
      const [posted] = await sendAll(deployer, [{ ...baseline, functionName: "postMatches", args: [baselineRoundId, matches] }]);
      rows.push({
        projects: n,
        firstDonationGas: mean(first),
        donationGas: mean(second),
        repeatDonationGas: mean(repeat),
        finalizeGas: finalized!.gasUsed,
        claimGas: claimed.gasUsed,
        baselineFirstDonationGas: mean(bFirst),
        baselineDonationGas: mean(bSecond),
        baselinePostMatchesGas: posted!.gasUsed,
      });
    }

    // A donation to a round that requires an attestation by one issuer.
    const registry = deployment.attestationRegistry!;
    const issuer = deployer.account.address;
    await sendAll(deployer, [
      { address: registry, abi: AttestationRegistryArtifact.abi, functionName: "attest", args: [donors[0]!.account.address, keccak256(toHex("donor0")), 0n] },
      { address: registry, abi: AttestationRegistryArtifact.abi, functionName: "attest", args: [donors[1]!.account.address, keccak256(toHex("donor1")), 0n] },
    ]);
    const start = await now();
    const [created] = await sendAll(deployer, [{ ...qf, functionName: "createRound", args: [params(start, { attestations: registry, issuers: [issuer] })] }]);
    const gatedRound = BigInt(created!.logs.find((l) => l.address.toLowerCase() === qf.address.toLowerCase())!.topics[1]!);
    for (let i = 0; i < 2; i++) {
      const lab = `0x${(nextProject++).toString(16).padStart(40, "0")}` as Address;
      await rpc.request({ method: "anvil_impersonateAccount" as never, params: [lab] as never });
      await rpc.request({ method: "anvil_setBalance" as never, params: [lab, "0xDE0B6B3A7640000"] as never });
      await rpc.waitForTransactionReceipt({ hash: await impersonated.wallet.writeContract({ ...qf, functionName: "applyProject", args: [gatedRound, 0n], account: lab as never, gas: 300_000n } as never) });
    }
    // As in the rows above: the measured donation is a further donor's, in a round that already has weight.
    await sendAll(donors[1]!, [{ ...qf, functionName: "donate", args: [gatedRound, 1n, 5_000_000n] }, { ...qf, functionName: "donate", args: [gatedRound, 2n, 5_000_000n] }]);
    await sendAll(donors[0]!, [{ ...qf, functionName: "donate", args: [gatedRound, 1n, 3_000_000n] }]);
    const [gated] = await sendAll(donors[0]!, [{ ...qf, functionName: "donate", args: [gatedRound, 2n, 3_000_000n] }]);

    return {
      rows,
      attestedDonationGas: gated!.gasUsed,
      note: "gas per transaction (receipt gasUsed, base 21,000 and calldata included); two donors per project; QuadraticFunding computes and checks every match on-chain, the baseline trusts the operator's off-chain computation",
    };
  } finally {
    await anvil.stop();
  }
}

/** Renders the results as the README's funding table. */
export function renderFundingTable(results: Awaited<ReturnType<typeof benchFundingGas>>): string {
  const f = (v: bigint) => Number(v).toLocaleString("en-US");
  const lines = [
    "| projects in the round | donation: a project's first / a further donor / a repeat | baseline that stores each donation: first / further | finalize: every match on-chain | baseline: operator posts matches computed off-chain | claim |",
    "|---|---|---|---|---|---|",
    ...results.rows.map(
      (r) =>
        `| ${f(BigInt(r.projects))} | ${f(r.firstDonationGas)} / **${f(r.donationGas)}** / ${f(r.repeatDonationGas)} | ${f(r.baselineFirstDonationGas)} / ${f(r.baselineDonationGas)} | **${f(r.finalizeGas)}** (${f(r.finalizeGas / BigInt(r.projects))} per project) | ${f(r.baselinePostMatchesGas)} | ${f(r.claimGas)} |`,
    ),
  ];
  return `${lines.join("\n")}\n\nA further donor's donation to a round that requires an attestation (one issuer): ${f(results.attestedDonationGas)} gas.`;
}

/** Run directly: measure, write bench/results/funding-gas.json and the README's funding table. */
if (process.argv[1] && import.meta.filename === realpathSync(process.argv[1])) {
  const sizes = process.env.BENCH_FUNDING_SIZES?.split(",").map(Number);
  const results = await benchFundingGas(sizes);
  const json = JSON.stringify({ date: new Date().toISOString(), node: process.version, ...results }, bigintAsString, 2);
  writeFileSync(join(root, "bench", "results", "funding-gas.json"), json + "\n");
  const table = renderFundingTable(results);
  fillReadme("funding-bench", table);
  console.log(json);
  console.log(table);
  process.exit(0);
}
