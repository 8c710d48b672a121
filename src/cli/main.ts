import { GotongError } from "../common/errors.ts";

const commands: Record<string, () => Promise<{ run(args: string[]): Promise<void>; help: string }>> = {
  up: () => import("./commands/up.ts"),
  devnet: () => import("./commands/devnet.ts"),
  deploy: () => import("./commands/deploy.ts"),
  provider: () => import("./commands/provider.ts"),
  gateway: () => import("./commands/gateway.ts"),
  model: () => import("./commands/model.ts"),
  chat: () => import("./commands/chat.ts"),
  receipts: () => import("./commands/receipts.ts"),
  channel: () => import("./commands/channel.ts"),
  agent: () => import("./commands/agent.ts"),
  mcp: () => import("./commands/mcp.ts"),
  fund: () => import("./commands/fund.ts"),
  balance: () => import("./commands/balance.ts"),
  earnings: () => import("./commands/earnings.ts"),
  data: () => import("./commands/data.ts"),
  validator: () => import("./commands/validator.ts"),
};

const usage = `gotong — an open network for AI

  gotong up                      run a whole local network (chain, model, provider, gateway, web app)
  gotong devnet                  run only the local chain
  gotong devnet fund ADDRESS [--eth N] [--tokens N]   the local chain's faucet
  gotong deploy --rpc-url URL --key FILE --token ADDR   put the contracts on any EVM chain; writes a deployment file
  gotong provider start|status|redeem|withdraw|unstake|exit|rotate-key   serve a model, get paid, collect, leave
  gotong gateway start           an OpenAI-compatible endpoint that pays providers (--keys: serving others)
  gotong gateway key create|list|revoke   API keys for it: a budget per period and requests per minute each
  gotong model pull|publish|verify|inspect
  gotong model withdraw ID|--all  take out a model's royalties (you must own its token)
  gotong model transfer ID ADDRESS   give the model's token away (pending royalties go with it)
  gotong model lineage ID        the models and datasets a model derives from, and what each earned from it
  gotong model dispute open ID --parent YOURS --relation R   claim an undeclared derivative; validators decide
  gotong data publish|verify|grant|approve-grant|open|list   datasets: signed manifests, tokens, sealed keys granted to trainers (a pool's by its holders' vote)
  gotong balance [ADDRESS]       native coin and token balances of your keys, or of any address
  gotong earnings                what you can withdraw and withdrew, and where each payment went
  gotong chat "PROMPT"           one request through the network
  gotong receipts [--key ID]     what your gateway paid for, request by request (or for one API key)
  gotong channel list|close|withdraw   your gateway's payment channels: deposit, spent, redeemed, state; get the rest back
  gotong agent create|policy|revoke|status|close-channels   agent wallets: a budget the owner sets and can revoke
  gotong mcp                     an MCP server (stdio) for agents: chat, pay, donate, balance, budget
  gotong fund round create|apply|donate|status|finalize|claim   quadratic funding for open models
  gotong validator start|register|status   re-run what providers served, vote on fraud cases, attest passes

Options everywhere: --home DIR (default $GOTONG_HOME or ~/.gotong), --json, --verbose, --help`;

async function main(argv: string[]) {
  const [name, ...args] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage + "\n");
    return;
  }
  const load = commands[name];
  if (!load) throw new GotongError(`Unknown command "${name}"`, { code: "invalid_arguments", hint: `Commands: ${Object.keys(commands).join(", ")}.` });
  const command = await load();
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(command.help + "\n");
    return;
  }
  await command.run(args);
}

const verbose = process.argv.includes("--verbose") || process.argv.includes("-v");
main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof GotongError) {
      process.stderr.write(`error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ""}`);
      if (verbose) process.stderr.write(`${error.stack}\n${error.cause ? `cause: ${String((error.cause as Error).stack ?? error.cause)}\n` : ""}`);
    } else {
      process.stderr.write(`error: ${(error as Error)?.message ?? String(error)}\n`);
      if (verbose) process.stderr.write(`${(error as Error)?.stack}\n`);
    }
    process.exit(1);
  },
);
