/**
 * Gotong benchmarks. Every figure is a ratio against a baseline measured in the same run (these
 * machines are shared and noisy, so absolute times drift): throughput through gateway and provider
 * against node-llama-cpp called directly; the time to first token each layer adds; and the gas of
 * one redeem settling 1,000 requests against 1,000 single token transfers; gas per paid call with
 * x402 `exact` (one settle per call) against vouchers (one redeem for many); and load through a whole
 * `gotong up` network (1,000 requests, 50 at a time, against the same requests one at a time) with
 * the money identity checked to the base unit (a mismatch makes the run exit 1, after writing); an
 * overload burst (refusals timed inside the gateway and in a client process, against a bare
 * node:http server bursted by the same client); and decoding with a JSON schema against decoding
 * without one (the grammar's cost); and how soon `gotong mcp` answers, against the bare CLI start;
 * and discovery of 10,000 offers from the registries' events, against reading every provider's state;
 * and batched decoding (aggregate tokens/s at 1 to 16 streams through the provider's backend against
 * node-llama-cpp with as many sequences in one context, and the stall a newcomer's prompt causes);
 * and how exact greedy decoding is across threads, runs and batching, and how often the validator's
 * re-run catches another model, a requantisation, an injected prefix or an inflated token count;
 * and 1,000 concurrent streams through one gateway against 1 stream through the same gateway, and
 * sealed against unsealed at that load.
 * And what verification costs as a share of spend (challenge traffic, validator compute, gas) and
 * how soon each kind of cheat is caught per request it serves.
 *
 *   npm run bench            writes bench/results/latest.json and prints a table
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchThroughput } from "./throughput.ts";
import { benchSettlementGas } from "./settlementGas.ts";
import { benchVoucherVerify } from "./voucherVerify.ts";
import { benchHpke } from "./hpke.ts";
import { benchFundingGas } from "./fundingGas.ts";
import { benchX402Gas, renderX402GasTable } from "./x402Gas.ts";
import { benchGrammar, renderGrammarTable } from "./grammar.ts";
import { benchLoad, loadOptionsFrom, printLoad, renderLoadTable } from "./load.ts";
import { benchBurst, printBurst, renderBurstTable } from "./burst.ts";
import { benchMcpStartup } from "./mcpStartup.ts";
import { benchBatching, renderBatchingTable } from "./batching.ts";
import { benchDiscovery, renderDiscoveryTable } from "./discovery.ts";
import { benchDeterminism, renderDeterminismTable } from "./determinism.ts";
import { benchVerificationCost, renderVerificationCostTable } from "./verificationCost.ts";
import { benchManyStreams, renderManyStreamsTable } from "./manyStreams.ts";
import { fillReadme } from "./fillReadme.ts";
import { bigintAsString } from "../src/common/bigintJson.ts";

const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };
results.throughput = await benchThroughput();
results.settlementGas = await benchSettlementGas();
results.voucherVerify = await benchVoucherVerify();
results.hpke = await benchHpke();
results.fundingGas = await benchFundingGas();
const x402Gas = await benchX402Gas();
results.x402Gas = x402Gas;
results.mcpStartup = await benchMcpStartup();
const discovery = await benchDiscovery();
results.discovery = discovery;
const batching = await benchBatching();
results.batching = batching;
const grammar = await benchGrammar();
results.grammar = grammar;
// About 15 minutes: 10 challenges per configuration, honest and cheating (bench/determinism.ts).
const determinism = await benchDeterminism({});
results.determinism = determinism;
// About 5 minutes: 1,000 paid requests with challenges, validators and cases on a devnet, then catch rates (bench/verificationCost.ts).
const verificationCost = await benchVerificationCost();
results.verificationCost = verificationCost;
const load = await benchLoad(loadOptionsFrom([], process.env));
results.load = load;
const burst = await benchBurst();
results.burst = burst;
// About 5 minutes: 1,000 channels opened, then 1,000 paced streams at once, unsealed and sealed.
const manyStreams = await benchManyStreams();
results.manyStreams = manyStreams;
const file = join(import.meta.dirname, "results", "latest.json");
const json = JSON.stringify(results, bigintAsString, 2);
writeFileSync(file, json + "\n");
console.log(json);
console.log(`written to ${file}`);
await import("./renderReadme.ts");
fillReadme("load-bench", renderLoadTable(load));
fillReadme("burst-bench", renderBurstTable(burst));
fillReadme("grammar-bench", renderGrammarTable(grammar));
fillReadme("batching-bench", renderBatchingTable(batching));
fillReadme("discovery-bench", renderDiscoveryTable(discovery));
fillReadme("x402-gas-bench", renderX402GasTable(x402Gas));
fillReadme("determinism-bench", renderDeterminismTable(determinism));
fillReadme("verification-cost-bench", renderVerificationCostTable(verificationCost));
fillReadme("many-streams-bench", renderManyStreamsTable(manyStreams));
printLoad(load);
printBurst(burst);
// The figures are written either way; a broken money identity still fails the run.
process.exit(load.identity.holds && burst.identity.holds ? 0 : 1);
