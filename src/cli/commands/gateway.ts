import { privateKeyToAccount } from "viem/accounts";
import { fundOnDevnet } from "../../chain/fundOnDevnet.ts";
import { createReader } from "../../chain/createClients.ts";
import { GotongError } from "../../common/errors.ts";
import { DEFAULT_AUTO_CLOSE_AFTER_SECONDS } from "../../gateway/createChannelCloser.ts";
import { parseDuration } from "../../common/parseDuration.ts";
import { startGateway } from "../../gateway/startGateway.ts";
import { challengesFromFlags, routingFromFlags } from "../../gateway/routingFromFlags.ts";
import { webAppRoutes } from "../../web/server/webAppRoutes.ts";
import { context, integer, parse, tokens, untilStopped } from "../shared.ts";
import { help as keyHelp, run as runKey } from "./gatewayKey.ts";

export const help = `gotong gateway start [--port 8600] [--host 127.0.0.1] [--allowed-host NAME]... [--deposit T] [--channels-per-provider N] [--auto-close-after 7d] [--key FILE] [--deployment FILE] [--no-seal] [--keys] [--x402] [--web]
                     [--routing FILE] [--provider-order ADDR,…] [--sort price|latency|throughput] [--max-price PROMPT[,COMPLETION]]
                     [--max-block-range 2000] [--challenge-share 0.006] [--challenge-share-new 0.05] [--validator URL]...

A local OpenAI-compatible endpoint: point any OpenAI client at http://host:port/v1.
It finds offers on-chain, opens payment channels (deposit T tokens each, default 1), signs vouchers,
checks every receipt, and fails over when a provider is down. Prompts and answers are sealed end to
end with HPKE to each provider's registered key; --no-seal sends them in the clear (for measurement only).
One process per gateway key and home: a second is refused while the first runs (--key FILE for another).
It spends from its own account, so it answers only requests addressed to a loopback name (127.0.0.1,
localhost, [::1]) or to --host; --allowed-host NAME adds a name clients use (a DNS-rebinding page
reaches 127.0.0.1 under a name of its own and is refused). Each channel carries one request at a time
(the provider serves one unpaid request per channel); up to 64 more wait, beyond that 429 + Retry-After.
--channels-per-provider N (default 1, at most 1024) lets N requests run at one provider and model at once, each on
a channel of its own (its own deposit; one more is opened only when every open one is busy), for
providers that decode several requests together (--parallel).
Automatic refunds: a channel idle for --auto-close-after (default 7d; 30m, 12h, 2w…; "off" never)
is closed after its last voucher is sent, and withdrawn once its challenge period is over, so no
deposit strands; any channel closed otherwise (\`gotong channel close\`, the web app) is withdrawn
too. While a channel is closing, requests fail over to another provider of the model; once it is
withdrawn, the next request opens a fresh channel.
Routing defaults, for requests without a "provider" object (OpenRouter's field names; a request's own
fields replace these one by one): --routing FILE holds such an object as JSON; --provider-order,
--sort and --max-price (payment tokens per million input[,output] tokens) set single fields over it.
--keys serves others: every /v1/ request (/v1/models too, as OpenAI's) and the web relay needs
"Authorization: Bearer KEY" with a key from \`gotong gateway key create\`, each held to its own budget per
period (429 insufficient_quota beyond it) and requests per minute (429 rate_limit_exceeded, Retry-After);
a missing or wrong key is 401. The key is then the authority: the Host and Origin checks give way to it,
and browser apps of any origin may call the gateway (CORS). Without --keys nothing changes.
--x402 lets clients with no key and no account pay each request themselves with x402 \`exact\` (any x402
client, e.g. @x402/fetch): a /v1/chat/completions, /v1/completions or /v1/embeddings request without a key
(without --keys: every one) gets 402 with the chosen provider's PAYMENT-REQUIRED, checked here (its
X402Splitter payee, at most this gateway's bound on the price) and pointed at this gateway; the paid retry
goes, sealed, with its PAYMENT-SIGNATURE to the provider it pays, which settles and splits it on chain
before it serves. The gateway spends nothing and opens no channel for these; a paid request is never
failed over to another provider (the payment pays one payee). With --keys, requests with a key are paid
from the gateway's channels as before. Off by default.
Discovery follows the registries' events in log queries of at most --max-block-range blocks (default
2000; lower it for an RPC that caps eth_getLogs lower), keeping its cursor in the gateway's store so a
restart reads only the blocks since. Providers' /health is probed every 5 s; one silent for 15 s is
dropped from routing and from /v1/models until it answers again.
Verified serving: after each real request a provider serves, with probability --challenge-share
(default 0.006; 0 turns it off; --challenge-share-new, default 0.05, for a provider's first 200
requests through this gateway), one challenge request follows for the same provider and model after a
random delay, through the same sealed, paid channel; the plaintext sent, the answer relayed and the
signed receipt go to a validator (--validator URL, repeatable, then those registered on-chain) and a
fraud verdict is reported to ServingVerification (the report bond is approved from this account).
Challenges are this gateway's own spending. The router never sends traffic to a provider suspended
for fraud, and weighs failed challenges heavily against a provider and passed ones mildly for it.
--web also serves the web app at / (private chat, explorer, funding; \`gotong up\` always does), from the
build in dist/web/app (\`npm install\` or \`npm run build:web\` makes it in a checkout; the package ships it).

${keyHelp}`;

export async function run(args: string[]) {
  const [sub, ...rest] = args;
  if (sub === "key") return runKey(rest);
  if (sub !== "start") throw new GotongError(`Unknown gateway command "${sub ?? ""}"`, { code: "invalid_arguments", hint: help });
  const { values } = parse(rest, {
    port: { type: "string" },
    host: { type: "string" },
    deposit: { type: "string" },
    "channels-per-provider": { type: "string" },
    key: { type: "string" },
    deployment: { type: "string" },
    "no-seal": { type: "boolean" },
    "allowed-host": { type: "string", multiple: true },
    "auto-close-after": { type: "string" },
    keys: { type: "boolean" },
    x402: { type: "boolean" },
    web: { type: "boolean" },
    routing: { type: "string" },
    "provider-order": { type: "string" },
    sort: { type: "string" },
    "max-price": { type: "string" },
    "max-block-range": { type: "string" },
    "challenge-share": { type: "string" },
    "challenge-share-new": { type: "string" },
    validator: { type: "string", multiple: true },
  }, false);
  const perProvider = channelsPerProvider(values["channels-per-provider"]);
  const autoCloseAfter = values["auto-close-after"] === undefined ? DEFAULT_AUTO_CLOSE_AFTER_SECONDS : parseDuration(values["auto-close-after"], "auto-close-after");
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const key = ctx.key("gateway", values.key);
  const unit = 10n ** BigInt(deployment.token.decimals);
  const routing = routingFromFlags({ routing: values.routing, providerOrder: values["provider-order"], sort: values.sort, maxPrice: values["max-price"] }, deployment.token.decimals);
  const challenges = challengesFromFlags({ challengeShare: values["challenge-share"], challengeShareNew: values["challenge-share-new"], validator: values.validator as string[] | undefined });
  // The devnet faucet tops up a new account only: a balance you see must be your balance.
  if (deployment.chainId === 31337) {
    const address = privateKeyToAccount(key).address;
    const reader = createReader(deployment);
    const [nonce, balance] = await Promise.all([reader.getTransactionCount({ address }), reader.getBalance({ address })]);
    if (nonce === 0 && balance === 0n) {
      const given = await fundOnDevnet(deployment, address, { tokens: 100n * unit });
      process.stderr.write(`devnet: minted ${given.tokens / unit} test tokens and ${given.ether / 10n ** 18n} ETH to the new gateway account ${address}\n`);
    }
  }
  const gateway = await startGateway({
    home: ctx.home,
    deployment,
    privateKey: key,
    port: integer(values.port, "port"),
    host: values.host,
    deposit: values.deposit ? tokens(values.deposit, deployment.token.decimals, unit) : undefined,
    channelsPerProvider: perProvider,
    seal: !values["no-seal"],
    allowedHosts: values["allowed-host"] as string[] | undefined,
    requireKeys: values.keys,
    x402: values.x402,
    autoCloseAfterSeconds: autoCloseAfter ?? null,
    routing,
    maxBlockRange: integer(values["max-block-range"], "max-block-range"),
    ...challenges,
    extraRoutes: values.web ? webAppRoutes : undefined,
    logger: ctx.logger,
  });
  if (values["no-seal"]) ctx.logger.warn("sealing is off: prompts travel to providers in the clear");
  process.stdout.write(values.json ? JSON.stringify({ baseUrl: gateway.baseUrl, account: gateway.address }) + "\n" : `gateway at ${gateway.baseUrl} paying from ${gateway.address}${values.x402 ? ", clients may pay by x402" : ""}${values.web ? `, web app at ${gateway.url}/` : ""}\n`);
  await untilStopped();
  await gateway.stop();
}

/** --channels-per-provider: a whole number from 1 to 1024 (each channel locks a deposit). */
function channelsPerProvider(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 1024)) throw new GotongError(`--channels-per-provider must be a whole number from 1 to 1024, not "${text}"`, { code: "invalid_arguments", hint: "Each channel carries one request at a time and locks its own deposit." });
  return n;
}
