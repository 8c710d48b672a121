import { startLocalNetwork } from "../../network/startLocalNetwork.ts";
import { context, integer, parse, untilStopped } from "../shared.ts";

export const help = `gotong up [--model FILE.gguf] [--name NAME] [--threads N] [--chain-port 8545] [--provider-port 8601] [--gateway-port 8600] [--home DIR]

Starts a complete local network: chain, contracts, a published model, a provider and a gateway.
Without --model it serves the first GGUF in GOTONG_HOME/models, or a small generated test model.
One per home: a second \`gotong up\` on the same GOTONG_HOME is refused while this one runs.`;

export async function run(args: string[]) {
  const { values } = parse(args, {
    model: { type: "string" },
    name: { type: "string" },
    threads: { type: "string" },
    "chain-port": { type: "string" },
    "provider-port": { type: "string" },
    "gateway-port": { type: "string" },
  }, false);
  const ctx = context(values);
  const network = await startLocalNetwork({
    home: ctx.home,
    logger: ctx.logger,
    modelPath: values.model,
    modelName: values.name,
    threads: integer(values.threads, "threads"),
    chainPort: integer(values["chain-port"], "chain-port"),
    providerPort: integer(values["provider-port"], "provider-port"),
    gatewayPort: integer(values["gateway-port"], "gateway-port"),
  });
  const { info } = network;
  if (values.json) {
    process.stdout.write(JSON.stringify(info) + "\n");
  } else {
    process.stdout.write(`
Gotong is up.

  Web app           ${info.gatewayUrl}/   (private chat, explorer, funding)
  OpenAI base URL   ${info.baseUrl}
  model             ${info.model.name}${info.model.testModel ? "  (generated test model: random weights, gibberish output)" : ""}
  chain RPC         ${info.rpcUrl}  (chain id ${info.chainId})
  your account      ${info.account.address}
  its private key   ${info.account.privateKey}   (local test network only)
  details for scripts: ${ctx.home.upFile}

Try it:
  curl ${info.baseUrl}/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"${info.model.name}","messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":40}'
  npx gotong chat "Once upon a time"

Ctrl-C stops everything; the chain's state is kept for next time.
`);
  }
  await untilStopped();
  ctx.logger.info("stopping");
  await network.stop();
}
