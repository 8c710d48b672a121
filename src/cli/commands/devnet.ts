import { startDevnet } from "../../chain/startDevnet.ts";
import { context, integer, parse, untilStopped } from "../shared.ts";

export const help = `gotong devnet [--port 8545] [--home DIR]

Starts the local chain (Anvil) with its state in GOTONG_HOME/chain, deploying the contracts the first
time and writing GOTONG_HOME/chain/deployment.json. A restart keeps every balance, model, offer and channel.
One chain per home: a second devnet (or \`gotong up\`) on it is refused while this one runs.`;

export async function run(args: string[]) {
  const { values } = parse(args, { port: { type: "string" } }, false);
  const ctx = context(values);
  const devnet = await startDevnet({ home: ctx.home, port: integer(values.port, "port"), logger: ctx.logger });
  if (values.json) process.stdout.write(JSON.stringify({ rpcUrl: devnet.anvil.rpcUrl, deployment: ctx.home.deployment, deployed: devnet.deployed }) + "\n");
  else process.stdout.write(`devnet running at ${devnet.anvil.rpcUrl}\ndeployment: ${ctx.home.deployment}\n`);
  await untilStopped();
  await devnet.stop();
}
