import { erc20Abi, isAddress, isAddressEqual, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { AgentRegistryArtifact, AgentReputationArtifact } from "../../chain/contracts.generated.ts";
import type { Deployment } from "../../chain/deployment.ts";
import { fundOnDevnet } from "../../chain/fundOnDevnet.ts";
import { writeAndWait } from "../../chain/writeAndWait.ts";
import { GotongError } from "../../common/errors.ts";
import { formatUnits } from "../../payments/price.ts";
import { checkAgentName, readAgentConfig, writeAgentConfig, listAgentConfigs, type AgentConfig } from "../../agent/agentConfig.ts";
import { defaultAgentPolicy, selectors, type AgentBudget, type AgentCallPermission } from "../../agent/agentPolicy.ts";
import { createAgentWallet } from "../../agent/createAgentWallet.ts";
import { formatPeriod, parsePeriod, SECONDS_PER_UNIT } from "../../agent/parsePeriod.ts";
import { readAgentWallet, type AgentWalletStatus } from "../../agent/readAgentWallet.ts";
import { registerAgentIdentity, registrationDataUri } from "../../agent/registerAgentIdentity.ts";
import { tokenUnitOf } from "../../agent/tokenUnitOf.ts";
import { revokeAgent, updateAgentPolicy } from "../../agent/updateAgentPolicy.ts";
import { context, parse, tokens } from "../shared.ts";
import { bigintAsString } from "../../common/bigintJson.ts";
import { existsSync } from "node:fs";
import { readKey } from "../../common/keys.ts";
import { chainTime } from "../../funding/chainTime.ts";
import { closeAgentChannels } from "../../agent/closeAgentChannels.ts";
import { createAgentFunder } from "../../agent/createAgentFunder.ts";
import { createAgentSpender } from "../../agent/createAgentSpender.ts";
import { readAgentChannels } from "../../agent/readAgentChannels.ts";
import { createGatewayStore } from "../../gateway/createGatewayStore.ts";
import { createStandaloneSettler } from "../../gateway/createStandaloneSettler.ts";
import { gatewayStorePath } from "../../gateway/gatewayStorePath.ts";
import { formatChainTime } from "../../common/parseDuration.ts";
import { readChannel } from "../../payments/readChannel.ts";

export const help = `gotong agent create|policy|revoke|status|close-channels [NAME]

Agent wallets: an autonomous agent spends from a wallet of its own, within a budget its owner sets
on-chain and can revoke at once. NAME defaults to "default"; the owner's key is GOTONG_HOME/keys/owner.key
(or --owner-key FILE), the agent's GOTONG_HOME/keys/agent-NAME.key.

  gotong agent create [NAME] [--budget T] [--period 1d] [--max-per-tx T] [--fund T] [--expires 30d]
                      [--native-budget ETH] [--uri URI] [--no-identity] [--agent-key FILE]
      Creates the wallet (default budget 10 tokens per day, the whole budget per transaction), funds
      it with --fund tokens from the owner (default 10), and registers an ERC-8004 agent identity
      bound to the wallet (skip with --no-identity). On the devnet the owner and the agent key get
      test funds. Then use it from code (createAgent in gotong/agent) or any MCP client (gotong mcp).

  gotong agent policy [NAME] [--budget T --period P --max-per-tx T] [--allow TARGET:SELECTOR]...
                      [--deny TARGET:SELECTOR]... [--pause | --unpause] [--agent ADDRESS [--expires 30d]]
      Changes the policy. Periods: seconds or 30m, 1h, 1d, 1w (aligned to the Unix epoch; a day
      resets at 00:00 UTC). SELECTOR is 0x12345678 or a name the default policy knows (transfer,
      approve, open, topUp, donate, payAgent...).

  gotong agent revoke [NAME]        removes the agent key at once: it can no longer spend or sign
  gotong agent status [NAME]        owner, key, pause, budgets (spent, left, reset time), balance, calls, identity,
                                    and how much of the budget is locked in open payment channels
  gotong agent close-channels [NAME]
      Gets channel deposits back into the wallet: sends the last vouchers (providers are paid for what
      they served), closes every open channel, and withdraws each whose challenge period is over; run
      it again after the period it names. A deposit counts against the budget when it is made; the
      refund (deposit − redeemed) returns to the wallet's balance and is taken off what the current
      period has spent (never below zero), so the agent can spend it again.
  gotong agent list                 the agents in this data folder

Every command takes --deployment FILE, --json, --home DIR.`;

const PERIOD_DEFAULT = "1d";

/** A SELECTOR given by name or as 4 hex bytes. */
function selectorOf(text: string): Hex {
  if (/^0x[0-9a-fA-F]{8}$/.test(text)) return text.toLowerCase() as Hex;
  const known = (selectors as Record<string, Hex>)[text];
  if (known) return known;
  if (text === "native" || text === "0x") return "0x00000000";
  throw new GotongError(`Unknown selector "${text}"`, { code: "invalid_arguments", hint: `Use 0x12345678, or one of: ${Object.keys(selectors).join(", ")}, native.` });
}

/** TARGET:SELECTOR, where TARGET is an address or a deployment contract's name. */
function permissionOf(text: string, deployment: Deployment): AgentCallPermission {
  const at = text.lastIndexOf(":");
  if (at <= 0) throw new GotongError(`Invalid call "${text}"`, { code: "invalid_arguments", hint: "Use TARGET:SELECTOR, e.g. 0xabc…:0xa9059cbb or token:transfer." });
  const targetText = text.slice(0, at);
  const named: Record<string, Address | undefined> = {
    token: deployment.token.address,
    paymentChannels: deployment.paymentChannels,
    quadraticFunding: deployment.quadraticFunding,
    agentReputation: deployment.agentReputation,
  };
  const target = isAddress(targetText) ? targetText : named[targetText];
  if (!target) throw new GotongError(`Unknown target "${targetText}"`, { code: "invalid_arguments", hint: `Use an address or one of: ${Object.keys(named).filter((k) => named[k]).join(", ")}.` });
  return { target, selector: selectorOf(text.slice(at + 1)) };
}

/** A relative expiry ("30d") as Unix seconds. */
function expiryOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)([smhdw])$/.exec(text);
  if (!match) throw new GotongError(`Invalid expiry "${text}"`, { code: "invalid_arguments", hint: 'Use a duration from now: "12h", "30d".' });
  return Math.floor(Date.now() / 1000) + Number(match[1]) * SECONDS_PER_UNIT[match[2]!]!;
}

/** Names a call for display: known contracts and selectors by name. */
function describeCall(call: { target: Address; selector: Hex }, deployment: Deployment): string {
  const names: [Address | undefined, string][] = [
    [deployment.token.address, deployment.token.symbol],
    [deployment.paymentChannels, "PaymentChannels"],
    [deployment.quadraticFunding, "QuadraticFunding"],
    [deployment.agentReputation, "AgentReputation"],
  ];
  const target = names.find(([a]) => a && isAddressEqual(a, call.target))?.[1] ?? call.target;
  const selector = call.selector === "0x00000000" ? "(native transfer)" : (Object.entries(selectors).find(([, s]) => s === call.selector.toLowerCase())?.[0] ?? call.selector);
  return `${target}.${selector}`;
}

function printStatus(status: AgentWalletStatus, config: AgentConfig | undefined, deployment: Deployment, balance: bigint, agentGas: bigint, identity: { agentId?: string; boundWallet?: Address; reputation?: string }) {
  const unit = (token: Address) => tokenUnitOf(deployment, token) ?? { symbol: token, decimals: 0 };
  const lines = [
    `wallet   ${status.wallet}${config ? ` (${config.name})` : ""}`,
    `owner    ${status.owner}`,
    `agent    ${status.revoked ? "REVOKED" : status.agent}${status.agentExpiresAt ? `, expires ${new Date(status.agentExpiresAt * 1000).toISOString()}` : ""}`,
    `state    ${status.revoked ? "revoked: the agent can neither spend nor sign" : status.paused ? "PAUSED: the agent can neither spend nor sign" : "active"}`,
    `balance  ${formatUnits(balance, deployment.token.decimals)} ${deployment.token.symbol}; agent gas ${formatUnits(agentGas, 18)} ETH`,
    ...status.budgets.map((b) => {
      const u = unit(b.token);
      const f = (v: bigint) => `${formatUnits(v, u.decimals)} ${u.symbol}`;
      return `budget   ${f(b.budget)} per ${formatPeriod(b.period)} (max ${f(b.maxPerTransaction)} per transaction): ${f(b.spent)} spent, ${f(b.left)} left, resets ${new Date(b.resetsAt * 1000).toISOString()}`;
    }),
    ...(status.budgets.length ? [] : ["budget   none: the agent cannot spend anything"]),
    `calls    ${status.calls.map((c) => describeCall(c, deployment)).join(", ") || "none"}`,
    ...(identity.agentId ? [`identity agent #${identity.agentId}${identity.boundWallet && isAddressEqual(identity.boundWallet, status.wallet) ? " (bound to this wallet)" : ""}${identity.reputation ? `; ${identity.reputation}` : ""}`] : []),
  ];
  process.stdout.write(lines.join("\n") + "\n");
}

export async function run(args: string[]) {
  const [sub, ...rest] = args;
  if (sub === "create") return create(rest);
  if (sub === "policy") return policy(rest);
  if (sub === "revoke") return revoke(rest);
  if (sub === "status") return status(rest);
  if (sub === "list") return list(rest);
  if (sub === "close-channels") return closeChannels(rest);
  throw new GotongError(`Unknown agent command "${sub ?? ""}"`, { code: "invalid_arguments", hint: help });
}

async function create(args: string[]) {
  const { values, positionals } = parse(args, {
    budget: { type: "string" },
    period: { type: "string" },
    "max-per-tx": { type: "string" },
    "native-budget": { type: "string" },
    fund: { type: "string" },
    expires: { type: "string" },
    uri: { type: "string" },
    "no-identity": { type: "boolean" },
    "agent-key": { type: "string" },
    "owner-key": { type: "string" },
    deployment: { type: "string" },
  });
  const name = positionals[0] ?? "default";
  checkAgentName(name);
  const ctx = context(values);
  if (listAgentConfigs(ctx.home).some((c) => c.name === name)) {
    throw new GotongError(`An agent named "${name}" already exists`, { code: "agent_exists", hint: `See it with \`gotong agent status ${name}\`, or choose another name.` });
  }
  const deployment = ctx.deployment(values.deployment);
  const unit = 10n ** BigInt(deployment.token.decimals);
  const budget = tokens(values.budget, deployment.token.decimals, 10n * unit);
  const period = parsePeriod(values.period ?? PERIOD_DEFAULT);
  const maxPerTransaction = tokens(values["max-per-tx"], deployment.token.decimals, budget);
  const fund = tokens(values.fund, deployment.token.decimals, 10n * unit);
  const nativeBudget = values["native-budget"] ? tokens(values["native-budget"], 18, 0n) : undefined;
  const policy = defaultAgentPolicy(deployment, { budget, maxPerTransaction, period, nativeBudget, agentExpiresAt: expiryOf(values.expires) });

  const owner = ctx.clients(deployment, ctx.key("owner", values["owner-key"]));
  const agentKeyFile = values["agent-key"] ?? `${ctx.home.keys}/agent-${name}.key`;
  const agent = privateKeyToAccount(ctx.key(`agent-${name}`, values["agent-key"]));
  if (deployment.chainId === 31337) {
    await fundOnDevnet(deployment, owner.account.address, { tokens: fund });
    await fundOnDevnet(deployment, agent.address, {}); // gas for the wallet's transactions
  }
  const wallet = await createAgentWallet(owner, deployment, { agent: agent.address, policy, salt: `${name}:${Date.now()}` });
  if (fund > 0n) await writeAndWait(owner, { address: deployment.token.address, abi: erc20Abi, functionName: "transfer", args: [wallet, fund] });
  let agentId: bigint | undefined;
  if (!values["no-identity"] && deployment.agentRegistry) {
    const uri = values.uri ?? registrationDataUri({ name, description: `Gotong agent "${name}", spending from an agent wallet within its owner's policy.`, wallet, chainId: deployment.chainId });
    agentId = await registerAgentIdentity(owner, deployment, { uri, wallet, agentKey: agent });
  }
  const config: AgentConfig = {
    name,
    wallet,
    agent: agent.address,
    owner: owner.account.address,
    agentKeyFile,
    chainId: deployment.chainId,
    agentId: agentId?.toString(),
    createdAt: new Date().toISOString(),
  };
  writeAgentConfig(ctx.home, config);
  if (values.json) {
    process.stdout.write(JSON.stringify({ ...config, budget: budget.toString(), period, maxPerTransaction: maxPerTransaction.toString(), funded: fund.toString() }) + "\n");
    return;
  }
  const f = (v: bigint) => `${formatUnits(v, deployment.token.decimals)} ${deployment.token.symbol}`;
  process.stdout.write(
    [
      `agent "${name}" created`,
      `wallet   ${wallet} (funded with ${f(fund)})`,
      `owner    ${owner.account.address}`,
      `agent    ${agent.address} (key in ${agentKeyFile})`,
      `budget   ${f(budget)} per ${formatPeriod(period)}, at most ${f(maxPerTransaction)} per transaction`,
      ...(agentId !== undefined ? [`identity agent #${agentId} (ERC-8004), bound to the wallet`] : []),
      "",
      `Use it from an MCP client:  gotong mcp --agent ${name}`,
      `or from code:               createAgent({ wallet: "${wallet}", agentKey })  (import from "gotong/agent")`,
      `Revoke it at once:          gotong agent revoke ${name}`,
    ].join("\n") + "\n",
  );
}

/** The wallet to act on: NAME's config, or --wallet. */
function target(ctx: ReturnType<typeof context>, name: string | undefined, wallet: string | undefined): { wallet: Address; config?: AgentConfig } {
  if (wallet) {
    if (!isAddress(wallet)) throw new GotongError(`Invalid wallet address "${wallet}"`, { code: "invalid_arguments" });
    return { wallet };
  }
  const config = readAgentConfig(ctx.home, name ?? "default");
  return { wallet: config.wallet, config };
}

async function policy(args: string[]) {
  const { values, positionals } = parse(args, {
    budget: { type: "string" },
    period: { type: "string" },
    "max-per-tx": { type: "string" },
    token: { type: "string" },
    allow: { type: "string", multiple: true },
    deny: { type: "string", multiple: true },
    pause: { type: "boolean" },
    unpause: { type: "boolean" },
    agent: { type: "string" },
    expires: { type: "string" },
    wallet: { type: "string" },
    "owner-key": { type: "string" },
    deployment: { type: "string" },
  });
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const { wallet } = target(ctx, positionals[0], values.wallet);
  if (values.pause && values.unpause) throw new GotongError("--pause and --unpause together", { code: "invalid_arguments" });
  const owner = ctx.clients(deployment, ctx.key("owner", values["owner-key"]));
  const budgets: AgentBudget[] = [];
  if (values.budget !== undefined || values.period !== undefined || values["max-per-tx"] !== undefined) {
    const token = (values.token ?? deployment.token.address) as Address;
    if (!isAddress(token)) throw new GotongError(`Invalid token "${values.token}"`, { code: "invalid_arguments" });
    const decimals = tokenUnitOf(deployment, token)?.decimals ?? 0;
    const current = (await readAgentWallet(owner.public, wallet)).budgets.find((b) => isAddressEqual(b.token, token));
    const budget = tokens(values.budget, decimals, current?.budget ?? 0n);
    const period = values.period !== undefined ? parsePeriod(values.period) : current?.period || parsePeriod(PERIOD_DEFAULT);
    const maxPerTransaction = tokens(values["max-per-tx"], decimals, current && current.maxPerTransaction <= budget ? current.maxPerTransaction : budget);
    budgets.push({ token, budget, maxPerTransaction, period });
  }
  if (values.expires && !values.agent) throw new GotongError("--expires goes with --agent ADDRESS", { code: "invalid_arguments" });
  if (values.agent && !isAddress(values.agent)) throw new GotongError(`Invalid agent address "${values.agent}"`, { code: "invalid_arguments" });
  const hashes = await updateAgentPolicy(owner, wallet, {
    budgets,
    allow: (values.allow ?? []).map((a) => permissionOf(a, deployment)),
    deny: (values.deny ?? []).map((d) => permissionOf(d, deployment)),
    agent: values.agent ? { address: values.agent as Address, expiresAt: expiryOf(values.expires) } : undefined,
    paused: values.pause ? true : values.unpause ? false : undefined,
  });
  if (hashes.length === 0) throw new GotongError("Nothing to change", { code: "invalid_arguments", hint: help });
  if (values.json) process.stdout.write(JSON.stringify({ wallet, transactions: hashes }) + "\n");
  else process.stdout.write(`policy of ${wallet} updated (${hashes.length} transaction${hashes.length > 1 ? "s" : ""})\n`);
}

async function revoke(args: string[]) {
  const { values, positionals } = parse(args, { wallet: { type: "string" }, "owner-key": { type: "string" }, deployment: { type: "string" } });
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const { wallet } = target(ctx, positionals[0], values.wallet);
  const owner = ctx.clients(deployment, ctx.key("owner", values["owner-key"]));
  const before = await readAgentWallet(owner.public, wallet);
  const hash = await revokeAgent(owner, wallet);
  if (values.json) process.stdout.write(JSON.stringify({ wallet, revoked: before.agent, transaction: hash }) + "\n");
  else process.stdout.write(`agent key ${before.agent} revoked: it can no longer spend from ${wallet} or sign for it\n`);
}

async function status(args: string[]) {
  const { values, positionals } = parse(args, { wallet: { type: "string" }, deployment: { type: "string" } });
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const { wallet, config } = target(ctx, positionals[0], values.wallet);
  const client = ctx.reader(deployment);
  const state = await readAgentWallet(client, wallet);
  const [balance, agentGas] = await Promise.all([
    client.readContract({ address: deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [wallet] }),
    client.getBalance({ address: config?.agent ?? state.agent }),
  ]);
  const identity: { agentId?: string; boundWallet?: Address; reputation?: string } = { agentId: config?.agentId };
  if (config?.agentId && deployment.agentRegistry) {
    identity.boundWallet = (await client.readContract({ address: deployment.agentRegistry, abi: AgentRegistryArtifact.abi, functionName: "getAgentWallet", args: [BigInt(config.agentId)] }).catch(() => undefined)) as Address | undefined;
    if (deployment.agentReputation) {
      const [count, value, decimals, weight] = (await client.readContract({ address: deployment.agentReputation, abi: AgentReputationArtifact.abi, functionName: "getPaidSummary", args: [BigInt(config.agentId), [], "", ""] })) as [bigint, bigint, number, bigint];
      identity.reputation = count ? `reputation ${formatUnits(value, decimals)} from ${count} paid review(s) weighing ${formatUnits(weight, deployment.token.decimals)} ${deployment.token.symbol}` : "no paid reviews yet";
    }
  }
  const channels = await readAgentChannels(client, deployment, ctx.home, config?.agent ?? state.agent);
  const locked = { channels: channels.live, locked: channels.locked, unspent: channels.unspent };
  if (values.json) {
    process.stdout.write(JSON.stringify({ ...state, name: config?.name, balance, agentGas, identity, channels: locked }, bigintAsString) + "\n");
    return;
  }
  printStatus(state, config, deployment, balance, agentGas, identity);
  const f = (v: bigint) => `${formatUnits(v, deployment.token.decimals)} ${deployment.token.symbol} (${v})`;
  process.stdout.write(
    channels.live === 0
      ? "channels none open: nothing of the budget is locked\n"
      : `channels ${channels.live} holding a deposit: ${f(channels.locked)} locked (deposit − redeemed), ${f(channels.unspent)} of it unspent; \`gotong agent close-channels${config ? ` ${config.name}` : ""}\` gets it back\n`,
  );
}

async function list(args: string[]) {
  const { values } = parse(args, {}, false);
  const ctx = context(values);
  const configs = listAgentConfigs(ctx.home);
  if (values.json) process.stdout.write(JSON.stringify(configs) + "\n");
  else process.stdout.write(configs.length ? configs.map((c) => `${c.name}  ${c.wallet}  agent ${c.agent}${c.agentId ? `  #${c.agentId}` : ""}`).join("\n") + "\n" : "no agents yet: gotong agent create\n");
}

async function closeChannels(args: string[]) {
  const { values, positionals } = parse(args, { deployment: { type: "string" } });
  const ctx = context(values);
  const deployment = ctx.deployment(values.deployment);
  const config = readAgentConfig(ctx.home, positionals[0] ?? "default");
  const agentKey = readKey(config.agentKeyFile);
  const clients = ctx.clients(deployment, agentKey);
  const path = gatewayStorePath(ctx.home, clients.account.address);
  if (!existsSync(path)) {
    throw new GotongError(`Agent "${config.name}" has no payment channels in ${ctx.home.root}`, { code: "no_channels", hint: "Channels open with the agent's first chat (SDK or `gotong mcp`)." });
  }
  const spender = createAgentSpender({ clients, deployment, wallet: config.wallet, logger: ctx.logger });
  const store = createGatewayStore(path);
  let result: Awaited<ReturnType<typeof closeAgentChannels>>;
  try {
    result = await closeAgentChannels({
      store,
      funder: createAgentFunder(spender, deployment),
      readChannel: (id) => readChannel(clients.public, deployment.paymentChannels, id),
      chainNow: () => chainTime(clients.public),
      settle: () => createStandaloneSettler(clients.public, agentKey, deployment, store, ctx.logger).settle(),
      logger: ctx.logger,
    });
  } finally {
    store.close();
  }
  if (values.json) {
    const at = (c: { channelId: string; closesAt: bigint }) => ({ channelId: c.channelId, closesAt: formatChainTime(c.closesAt) });
    process.stdout.write(JSON.stringify({ wallet: config.wallet, closing: result.closing.map(at), waiting: result.waiting.map(at), withdrawn: result.withdrawn, refunded: result.refunded }, bigintAsString) + "\n");
    return;
  }
  const f = (v: bigint) => `${formatUnits(v, deployment.token.decimals)} ${deployment.token.symbol} (${v} base units)`;
  const lines = [
    ...result.withdrawn.map((w) => `withdrew ${f(w.refund)} from channel ${w.channelId} back into ${config.wallet}`),
    ...result.closing.map((c) => `closing ${c.channelId}: withdrawable at ${formatChainTime(c.closesAt)} (chain time)`),
    ...result.waiting.map((c) => `still closing ${c.channelId}: withdrawable at ${formatChainTime(c.closesAt)} (chain time)`),
  ];
  if (lines.length === 0) lines.push("no channel holds a deposit: nothing is locked");
  if (result.closing.length || result.waiting.length) lines.push(`run \`gotong agent close-channels ${config.name}\` again then to withdraw the rest`);
  process.stdout.write(lines.join("\n") + "\n");
}
