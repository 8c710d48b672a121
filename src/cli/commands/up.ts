import { startLocalNetwork, type UpInfo } from "../../network/startLocalNetwork.ts";
import { challengesFromFlags } from "../../gateway/routingFromFlags.ts";
import { formatUnits } from "../../payments/price.ts";
import { context, integer, parse, untilStopped } from "../shared.ts";

export const help = `gotong up [--model FILE.gguf] [--name NAME] [--license SPDX] [--royalty-bps 1000] [--threads N] [--parallel N]
          [--chain-port 8545] [--provider-port 8601] [--gateway-port 8600] [--home DIR] [--json]
          [--challenge-share 0.006] [--challenge-share-new 0.05] [--validator URL]...

  Starts a complete local network: chain, contracts, a published model, a provider and a gateway.
  Without --model it serves the first GGUF in GOTONG_HOME/models, or a small generated test model.

  The model is registered under this folder's creator key (GOTONG_HOME/keys/creator.key), which then
  owns it and its royalties, with --royalty-bps (default 1000 = 10%; at most the registry's
  MAX_ROYALTY_BPS, 5000) and --license (default NOASSERTION: "the creator did not say"). For
  someone else's model, set the licence its authors gave it. A model already registered keeps its
  terms: a different --name, --license or --royalty-bps is refused.

  Test funds are minted once, when the devnet is new (or for a key the chain has never seen): 1000
  tokens and 100 ETH to your account (the gateway key, which pays for requests), 1000 tokens and
  100 ETH to the provider (for its stake), 100 ETH to the creator (for gas). Later starts mint
  nothing, so what \`gotong balance\` shows is what your use left; \`gotong devnet fund\` adds more.
  One per home: a second \`gotong up\` on the same GOTONG_HOME is refused while this one runs.
  The gateway mixes challenges into its traffic (--challenge-share, default 0.006, and
  --challenge-share-new, default 0.05, for a provider's first 200 requests; 0 off) and asks the
  validators given with --validator, or registered on-chain: see \`gotong gateway --help\`.`;

export async function run(args: string[]) {
  const { values } = parse(args, {
    model: { type: "string" },
    name: { type: "string" },
    license: { type: "string" },
    "royalty-bps": { type: "string" },
    threads: { type: "string" },
    parallel: { type: "string" },
    "chain-port": { type: "string" },
    "provider-port": { type: "string" },
    "gateway-port": { type: "string" },
    "challenge-share": { type: "string" },
    "challenge-share-new": { type: "string" },
    validator: { type: "string", multiple: true },
  }, false);
  const ctx = context(values);
  const network = await startLocalNetwork({
    home: ctx.home,
    logger: ctx.logger,
    modelPath: values.model,
    modelName: values.name,
    license: values.license,
    royaltyBps: integer(values["royalty-bps"], "royalty-bps"),
    threads: integer(values.threads, "threads"),
    parallel: integer(values.parallel, "parallel"),
    chainPort: integer(values["chain-port"], "chain-port"),
    providerPort: integer(values["provider-port"], "provider-port"),
    gatewayPort: integer(values["gateway-port"], "gateway-port"),
    ...challengesFromFlags({ challengeShare: values["challenge-share"], challengeShareNew: values["challenge-share-new"], validator: values.validator as string[] | undefined }),
  });
  const { info } = network;
  const { decimals, symbol } = network.devnet.deployment.token;
  if (values.json) {
    process.stdout.write(JSON.stringify(info) + "\n");
  } else {
    process.stdout.write(`
Gotong is up.

  Web app           ${info.gatewayUrl}/   (private chat, explorer, funding)
  OpenAI base URL   ${info.baseUrl}
  model             ${info.model.name}${info.model.testModel ? "  (generated test model: random weights, gibberish output)" : ""}
                    ${describeRegistration(info)}
  chain RPC         ${info.rpcUrl}  (chain id ${info.chainId})
  your account      ${info.account.address}
  its private key   ${info.account.privateKey}   (local test network only)
  ${describeMinted(info, decimals, symbol).join("\n  ")}
  details for scripts: ${ctx.home.upFile}

Try it:
  curl ${info.baseUrl}/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"${info.model.name}","messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":40}'
  npx gotong chat "Once upon a time"
  npx gotong earnings          where each request's money went: royalty, protocol fee, provider

Ctrl-C stops everything; the chain's state is kept for next time.
`);
  }
  await untilStopped();
  ctx.logger.info("stopping");
  await network.stop();
}

/** Who the model is registered to and on what terms: for someone else's weights, the user should know they are the registered owner. */
function describeRegistration(info: UpInfo): string {
  const { model, creator } = info;
  const owner = model.owner.toLowerCase() === creator.address.toLowerCase() ? `your creator key ${creator.address}` : model.owner;
  const terms = `royalty ${model.royaltyBps} bps (${model.royaltyBps / 100}%), licence ${model.license ?? "unknown (manifest not kept here)"}`;
  return `${model.created ? "registered now as" : "registered"} model #${model.modelId} to ${owner}: ${terms}` +
    (model.created && model.license === "NOASSERTION" ? " (the defaults; a model's terms are fixed at its first registration: pass --license and --royalty-bps then)" : "");
}

/** One line per account this start funded, or one saying it funded none. */
function describeMinted(info: UpInfo, decimals: number, symbol: string): string[] {
  if (info.minted.length === 0) return ["funds             none minted on this start: balances are what earlier use left (`gotong balance`; `gotong devnet fund ADDRESS` adds more)"];
  const role = (name: string) => (name === "gateway" ? "your account" : name);
  return info.minted.map(
    (m, i) => `${i === 0 ? "test funds minted " : "                  "} ${formatUnits(BigInt(m.tokens), decimals)} ${symbol} + ${formatUnits(BigInt(m.ether), 18)} ETH to ${role(m.role)} ${m.address}`,
  );
}
