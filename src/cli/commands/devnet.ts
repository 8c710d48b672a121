import { getAddress, isAddress, parseEther } from "viem";
import { fundOnDevnet } from "../../chain/fundOnDevnet.ts";
import { startDevnet } from "../../chain/startDevnet.ts";
import { GotongError } from "../../common/errors.ts";
import { formatUnits, parseUnits } from "../../payments/price.ts";
import { context, integer, parse, tokens, untilStopped } from "../shared.ts";

export const help = `gotong devnet [--port 8545] [--home DIR]

  Starts the local chain (Anvil) with its state in GOTONG_HOME/chain, deploying the contracts the first
  time and writing GOTONG_HOME/chain/deployment.json. A restart keeps every balance, model, offer and channel.
  One chain per home: a second devnet (or \`gotong up\`) on it is refused while this one runs.

gotong devnet fund ADDRESS [--eth N] [--tokens N] [--deployment FILE] [--json]

  The local chain's faucet: adds N test ether (for gas; default 10, --eth 0 for none)
  and N test tokens (default none; the deployment's token, e.g. gUSD, in whole tokens: 1.5 is allowed) to ADDRESS,
  on top of what it holds, and prints exactly what it added. The devnet must be running
  (\`gotong devnet\` or \`gotong up\`). Refused on any chain but the devnet (31337).`;

export async function run(args: string[]) {
  if (args[0] === "fund") return fund(args.slice(1));
  const { values } = parse(args, { port: { type: "string" } }, false);
  const ctx = context(values);
  const devnet = await startDevnet({ home: ctx.home, port: integer(values.port, "port"), logger: ctx.logger });
  if (values.json) process.stdout.write(JSON.stringify({ rpcUrl: devnet.anvil.rpcUrl, deployment: ctx.home.deployment, deployed: devnet.deployed }) + "\n");
  else process.stdout.write(`devnet running at ${devnet.anvil.rpcUrl}\ndeployment: ${ctx.home.deployment}\n`);
  await untilStopped();
  await devnet.stop();
}

async function fund(args: string[]) {
  const { values, positionals } = parse(args, { eth: { type: "string" }, tokens: { type: "string" }, deployment: { type: "string" } });
  const target = positionals[0];
  if (target === undefined) throw new GotongError("Which address should the faucet fund?", { code: "invalid_arguments", hint: help });
  if (!isAddress(target, { strict: false })) throw new GotongError(`"${target}" is not an address`, { code: "invalid_arguments", hint: "Give a 0x-prefixed 20-byte hex address (`gotong balance` shows this folder's)." });
  const address = getAddress(target);
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const { decimals, symbol } = deployment.token;
  const ether = values.eth === undefined ? parseEther("10") : etherOf(values.eth);
  const given = await fundOnDevnet(deployment, address, { ether, tokens: tokens(values.tokens, decimals, 0n) }, { add: true });
  if (values.json) {
    process.stdout.write(JSON.stringify({ address, ether: given.ether.toString(), tokens: given.tokens.toString(), token: deployment.token }) + "\n");
    return;
  }
  process.stdout.write(`minted to ${address}: ${formatUnits(given.ether, 18)} ETH (${given.ether} wei) and ${formatUnits(given.tokens, decimals)} ${symbol} (${given.tokens} base units)\n`);
}

/** Parses --eth N (whole ether, decimals allowed) into wei. */
function etherOf(text: string): bigint {
  try {
    return parseUnits(text, 18);
  } catch (cause) {
    throw new GotongError(`Invalid --eth "${text}": ${(cause as Error).message}`, { code: "invalid_arguments" });
  }
}
