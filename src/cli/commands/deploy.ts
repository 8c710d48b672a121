import { existsSync } from "node:fs";
import { createPublicClient, getAddress, http, isAddress, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { readPaymentToken, refuseFeeOnTransfer } from "../../chain/checkPaymentToken.ts";
import { createClients } from "../../chain/createClients.ts";
import { deployContracts, type DeploySteps } from "../../chain/deployContracts.ts";
import { parseRpcUrls, writeDeployment } from "../../chain/deployment.ts";
import { resumableSteps } from "../../chain/resumableSteps.ts";
import { verifyDeployedCode } from "../../chain/verifyDeployedCode.ts";
import { GotongError } from "../../common/errors.ts";
import { readKey } from "../../common/keys.ts";
import { parseContractDuration, parseVerificationTerms, verificationFlags, type VerificationFlag } from "../parseVerificationTerms.ts";
import { context, integer, parse, tokens } from "../shared.ts";

export const help = `gotong deploy --rpc-url URL --key FILE (--token ADDR | --test-token) [options] [--out deployment.json]

  Deploys Gotong's contracts to any EVM chain (Cancun or later), waits for each transaction,
  checks that the code at every address is this build's (eth_getCode against the compiled runtime
  code, immutables aside), and writes the deployment file that every role reads with
  --deployment FILE.

  Resumable: each transaction is signed and written to OUT's progress file (deployment.progress.json
  beside deployment.json) before it is sent. Run the same command again after a cut and it goes on
  where it stopped, rebroadcasting a recorded transaction rather than sending a second one: no
  contract is deployed twice. Run it after a finished deploy and it only re-checks and rewrites OUT.

  --rpc-url URL[,URL...]     the chain's JSON-RPC endpoint (its chain id is read from it); several,
                             comma-separated, are tried in order when one fails (all written to the file)
  --key FILE                 the deployer's private key (0x + 64 hex digits); it pays the gas
  --token ADDR               an existing ERC-20 for payments (USDC, …): its decimals are read, and a
                             fee-on-transfer token is refused (measured by a 1-base-unit self-transfer
                             when the deployer holds some)
  --test-token               deploy Gotong's TestToken (gUSD, 6 decimals, mintable by anyone) instead:
                             for testnets only, never implied
  --protocol-fee-bps N       protocol fee into quadratic funding, basis points (default 200)
  --challenge-period D       how long a closing channel waits for the provider's last redeem:
                             seconds, or 30m, 12h, 7d (default 1h)
  --min-stake T              minimum provider stake in whole tokens (default 100)
  --steward ADDR             who picks the funding round the fee feeds (default: the deployer)

  Verified serving (ServingVerification's terms, fixed at deployment; tokens are whole tokens,
  durations seconds or 30m, 12h, 7d, shares basis points):
  --validator-stake T        a validator's minimum stake (default: --min-stake)
  --validator-unstake-delay D  how long unstaked validator stake waits (default 7d, as providers')
  --report-bond T            what a report bonds, lost on an honest verdict (default --min-stake / 10)
  --commit-period D          how long drawn validators have to commit their votes (default 1h)
  --reveal-period D          how long they then have to reveal them (default 1h)
  --slash-bps N              share of the provider's stake a fraud verdict takes, 1..10000 (default 10000)
  --reporter-bps N           share of a slash paid to the reporter (default 1000)
  --validator-bps N          share of a slash paid to the quorum's validators (default 2000); with
                             --reporter-bps at most 10000, the rest funds quadratic funding
  --validator-penalty-bps N  share of its stake a validator against the quorum or silent loses (default 1000)
  --honest-provider-bps N    share of a lost bond paid to the provider wrongly reported (default 5000)

  --confirmations N          blocks to wait for on each transaction (default 1)
  --out FILE                 the deployment file to write (default deployment.json)
  --json                     print the deployment, the checked contracts and the gas used as JSON`;

export async function run(args: string[]) {
  const { values } = parse(
    args,
    {
      "rpc-url": { type: "string" },
      key: { type: "string" },
      token: { type: "string" },
      "test-token": { type: "boolean" },
      "protocol-fee-bps": { type: "string" },
      "challenge-period": { type: "string" },
      "min-stake": { type: "string" },
      steward: { type: "string" },
      ...(Object.fromEntries(Object.keys(verificationFlags).map((flag) => [flag, { type: "string" }])) as Record<VerificationFlag, { type: "string" }>),
      confirmations: { type: "string" },
      out: { type: "string" },
    },
    false,
  );
  if (!values["rpc-url"]) throw invalid("gotong deploy needs --rpc-url URL: the chain to deploy to");
  const rpcUrls = parseRpcUrls(values["rpc-url"], "--rpc-url");
  const rpcUrl = rpcUrls[0]!;
  if (!values.key) throw invalid("gotong deploy needs --key FILE: the deployer's private key, which pays the gas");
  if (values.token && values["test-token"]) throw invalid("Give either --token ADDR or --test-token, not both");
  if (!values.token && !values["test-token"]) {
    throw invalid("Which token pays for requests? Give --token ADDR (an existing ERC-20, e.g. USDC) or --test-token", "--test-token deploys a token anyone can mint: use it on testnets only.");
  }
  const token = values.token === undefined ? undefined : addressOption(values.token, "token");
  const steward = values.steward === undefined ? undefined : addressOption(values.steward, "steward");
  const protocolFeeBps = integer(values["protocol-fee-bps"], "protocol-fee-bps");
  if (protocolFeeBps !== undefined && protocolFeeBps > 10_000) throw invalid(`--protocol-fee-bps must be at most 10000 (100%), not ${protocolFeeBps}`);
  const challengePeriod = values["challenge-period"] === undefined ? undefined : Number(parseContractDuration(values["challenge-period"], "challenge-period"));
  // Checked now, before anything is sent; read again in the token's decimals once it is known.
  parseVerificationTerms(values, values["test-token"] ? 6 : 18);
  const confirmations = integer(values.confirmations, "confirmations", 1)!;
  const out = values.out ?? "deployment.json";
  const progressPath = `${out.replace(/\.json$/, "")}.progress.json`;
  const ctx = context(values);
  if (!existsSync(values.key)) throw new GotongError(`No key file at ${values.key}`, { code: "invalid_key", hint: "Give --key the file holding the deployer's private key (0x + 64 hex digits)." });
  const account = privateKeyToAccount(readKey(values.key));

  // Every endpoint must answer, and for the same chain: a second URL of another network is named now.
  const chainIds: number[] = [];
  for (const url of rpcUrls) {
    try {
      chainIds.push(await createPublicClient({ transport: http(url, { retryCount: 2, timeout: 20_000 }) }).getChainId());
    } catch (error) {
      throw new GotongError(`Cannot reach ${url} to read its chain id: ${(error as Error).message.split("\n")[0]}`, {
        code: "chain_unreachable",
        status: 503,
        retryable: true,
        hint: "Check --rpc-url: it must be the JSON-RPC endpoint (http or https) of the chain to deploy to.",
        cause: error,
      });
    }
  }
  const chainId = chainIds[0]!;
  const other = chainIds.findIndex((id) => id !== chainId);
  if (other !== -1) throw invalid(`--rpc-url names two chains: ${rpcUrl} is chain ${chainId}, ${rpcUrls[other]} is chain ${chainIds[other]}`, "Every URL given to --rpc-url must be an endpoint of the same chain.");
  const clients = createClients({ rpcUrl, rpcUrls, chainId, account });
  const steps = resumableSteps(clients, progressPath, { confirmations });
  await steps.startBlock();
  const say = (line: string) => {
    if (!values.json) process.stderr.write(line + "\n");
  };
  say(`deploying to chain ${chainId} from ${account.address} (progress: ${progressPath})`);

  const paymentToken = token ? await readPaymentToken(clients, token) : undefined;
  // In the token's decimals, before the fee-on-transfer check sends anything.
  const verification = parseVerificationTerms(values, paymentToken?.decimals ?? 6);
  if (paymentToken) {
    await steps.once("check:token", async () => {
      const measured = await refuseFeeOnTransfer(clients, paymentToken);
      if (!measured) ctx.logger.warn(`${account.address} holds no ${paymentToken.symbol}, so a fee on transfer could not be measured: make sure ${paymentToken.address} takes none (payments are split to the base unit)`);
    });
  }
  const minStake = values["min-stake"] === undefined ? undefined : tokens(values["min-stake"], paymentToken?.decimals ?? 6, 0n);
  const deployment = await deployContracts(clients, { rpcUrl, rpcUrls: rpcUrls.length > 1 ? rpcUrls : undefined, token: paymentToken, protocolFeeBps, challengePeriod, minStake, steward, verification }, reporting(steps, say));
  const verified = await verifyDeployedCode(clients.public, deployment, { testToken: !paymentToken });
  writeDeployment(out, deployment);
  const gasUsed = steps.gasUsed();
  if (values.json) {
    process.stdout.write(JSON.stringify({ out, progress: progressPath, deployment, verified, gasUsed: gasUsed.toString() }, null, 2) + "\n");
    return;
  }
  for (const v of verified) say(`verified ${v.contract} at ${v.address} (${v.codeSize} bytes, matches the build)`);
  process.stdout.write(`deployment written to ${out} (chain ${chainId}, ${verified.length} contracts, ${gasUsed} gas in all)\nevery role can now use it: --deployment ${out}\n`);
}

/** The steps, printing each contract's address as it is mined (a cut deploy shows how far it got). */
function reporting(steps: DeploySteps, say: (line: string) => void): DeploySteps {
  return {
    startBlock: () => steps.startBlock(),
    async deploy(artifact, args) {
      const address = await steps.deploy(artifact, args);
      say(`deployed ${artifact.contractName} at ${address}`);
      return address;
    },
    async call(call) {
      await steps.call(call);
      say(`called ${call.functionName} on ${call.address}`);
    },
  };
}

function addressOption(text: string, name: string): Address {
  if (!isAddress(text, { strict: false })) throw invalid(`--${name} "${text}" is not an address`, "Give a 0x-prefixed 20-byte hex address.");
  return getAddress(text);
}

function invalid(message: string, hint?: string): GotongError {
  return new GotongError(message, { code: "invalid_arguments", hint: hint ?? "Run `gotong deploy --help` for its options." });
}
