import { decodeAbiParameters, encodeFunctionData, erc20Abi, isAddress, zeroAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createClients, type ChainClients } from "../chain/createClients.ts";
import { readDeployment, type Deployment } from "../chain/deployment.ts";
import { GotongError } from "../common/errors.ts";
import { resolveHome, type GotongHome } from "../common/home.ts";
import { createLogger, type Logger } from "../common/logger.ts";
import { createGateway, type Gateway } from "../gateway/core/createGateway.ts";
import { startGatewayServices, type GatewayServices } from "../gateway/startGatewayServices.ts";
import { AgentReputationArtifact, QuadraticFundingArtifact } from "../chain/contracts.generated.ts";
import { getRoundStatus, type RoundStatus } from "../funding/getRoundStatus.ts";
import { fundingNotDeployedError } from "../funding/errors.ts";
import { fundingErrorHint } from "../funding/fundingErrorHint.ts";
import { createAgentFunder } from "./createAgentFunder.ts";
import { createAgentSpender, type SpendResult } from "./createAgentSpender.ts";
import { readAgentBudget, type AgentBudgetStatus, type AgentWalletStatus } from "./readAgentWallet.ts";
import { tokenUnitOf } from "./tokenUnitOf.ts";
import { existsSync } from "node:fs";
import { chainTime } from "../funding/chainTime.ts";
import { createGatewayStore } from "../gateway/createGatewayStore.ts";
import { createStandaloneSettler } from "../gateway/createStandaloneSettler.ts";
import { gatewayStorePath } from "../gateway/gatewayStorePath.ts";
import { readChannel } from "../payments/readChannel.ts";
import { closeAgentChannels, type AgentChannelsClosed } from "./closeAgentChannels.ts";
import { defaultAgentDeposit } from "./defaultAgentDeposit.ts";
import { readAgentChannels, type AgentChannels } from "./readAgentChannels.ts";
import type { AgentEndpoint } from "./startAgentEndpoint.ts";
import type { ChallengerStats } from "../gateway/challenges/createChallenger.ts";

/** Options of `createAgent`. */
export type CreateAgentOptions = {
  /** The agent wallet's address. */
  wallet: Address;
  /** The agent key: a 0x-prefixed 32-byte hex private key. */
  agentKey: Hex;
  /** The deployment, or the path of a deployment file. Default: the data folder's (`gotong devnet`). */
  deployment?: Deployment | string;
  /** The data folder (where channel state is kept). Default: `GOTONG_HOME`, else `~/.gotong`. */
  home?: string | GotongHome;
  /**
   * Deposit per payment channel and per top-up, base units; each counts against the budget until the
   * channel is closed and withdrawn (`closeChannels`). Default: 1% of the wallet's budget per period,
   * at most 1 token (see `defaultAgentDeposit`).
   */
  deposit?: bigint;
  /** Default: a logger at "warn" on stderr. */
  logger?: Logger;
  /**
   * Chance that a real request the agent pays for draws one challenge of the same provider and
   * model, as a gateway's do (verified serving: a deterministic request sent through the agent's
   * own channels, its evidence re-run by a validator, a fraud verdict reported on-chain). Default
   * 0, off: challenges spend about this share more of the owner's budget on checking providers,
   * which the owner chooses; 0.02 is a gateway's default. A report's bond is paid from the agent
   * key's own tokens (not the wallet's): without them the report fails and is logged.
   */
  challengeShare?: number;
  /** Validators' base URLs, asked before those registered on-chain (only with `challengeShare`). */
  validators?: readonly string[];
  /** Longest wait between a real request and its challenge. Default 60 s. */
  challengeMaxDelayMs?: number;
};

/** A chat message. */
export type ChatMessage = { role: "system" | "user" | "assistant"; content: string };

/** A chat answer and what it cost. */
export type ChatAnswer = {
  content: string;
  model: string;
  /** Base units paid for this request. */
  cost: bigint;
  inputTokens: number;
  outputTokens: number;
  receiptId: Hex;
  provider: Address;
};

/** A model on offer. */
export type ModelOffer = {
  name: string;
  modelId: bigint;
  providers: number;
  /** The lowest prices on offer, base units per million tokens. */
  pricePerMillionInput: bigint;
  pricePerMillionOutput: bigint;
};

/** What the wallet holds. */
export type AgentBalance = {
  wallet: Address;
  token: { address: Address; symbol: string; decimals: number; balance: bigint };
  /** The wallet's native coin (wei). */
  native: bigint;
  /** The agent key's native coin, which pays the gas of the wallet's transactions. */
  gas: { agent: Address; balance: bigint };
};

/** A token's budget now, with the wallet's state. */
export type AgentBudget = AgentBudgetStatus & { paused: boolean; revoked: boolean; symbol: string; decimals: number };

/**
 * An autonomous agent on the network: it chats through the network, pays, donates to funding
 * rounds and pays other agents from its own wallet, always within the policy its owner set on-chain.
 * Every spend is checked against that policy before it is sent (spends run one at a time, so
 * parallel requests cannot jointly pass the budget) and the wallet contract enforces it regardless.
 *
 * @example
 * import { createAgent } from "gotong/agent";
 * const agent = await createAgent({ wallet, agentKey });
 * const answer = await agent.chat({ model: "stories260K", prompt: "Once upon a time" });
 * await agent.pay({ to: "0x…", amount: 250_000n });
 * console.log(await agent.budget());
 * await agent.close();
 */
export async function createAgent(options: CreateAgentOptions) {
  if (!isAddress(options.wallet)) throw new GotongError(`Invalid wallet address "${options.wallet}"`, { code: "invalid_arguments" });
  if (!/^0x[0-9a-fA-F]{64}$/.test(options.agentKey)) {
    throw new GotongError("The agent key is not a 32-byte hex private key", { code: "invalid_key", hint: "Pass the key `gotong agent create` wrote (GOTONG_HOME/keys/agent-NAME.key)." });
  }
  const home = typeof options.home === "object" ? options.home : resolveHome(options.home);
  const deployment = typeof options.deployment === "object" ? options.deployment : readDeployment(options.deployment ?? home.deployment);
  const logger = options.logger ?? createLogger({ level: "warn" });
  const account = privateKeyToAccount(options.agentKey);
  const clients = createClients({ rpcUrl: deployment.rpcUrl, rpcUrls: deployment.rpcUrls, chainId: deployment.chainId, account });
  const spender = createAgentSpender({ clients, deployment, wallet: options.wallet, logger: logger.child("agent") });
  const token = deployment.token;
  const funder = createAgentFunder(spender, deployment);

  // The gateway the agent pays through, in this process: its services (store, channels, router,
  // settler, under the agent key's lock) and the core, called directly. No HTTP server, no web app;
  // `baseUrl()` adds an endpoint over the same core only when asked. Made on first use.
  type InProcess = { services: GatewayServices; core: Gateway; endpoint?: Promise<AgentEndpoint> };
  let gateway: Promise<InProcess> | undefined;
  let closed = false;
  const running = (): Promise<InProcess> => {
    if (closed) throw new GotongError("This agent was closed", { code: "agent_closed", hint: "Create a new one with createAgent()." });
    gateway ??= (async () => {
      const services = await startGatewayServices({
        home,
        deployment,
        privateKey: options.agentKey,
        deposit: options.deposit ?? defaultAgentDeposit(await readAgentBudget(clients.public, options.wallet, token.address), 10n ** BigInt(token.decimals)),
        logger,
        funder,
        challengeShare: options.challengeShare ?? 0,
        validators: options.validators ? [...options.validators] : undefined,
        challengeMaxDelayMs: options.challengeMaxDelayMs,
      });
      const { router, channels, store, domain, providerInfo, countPrompt, countEmbeddingInput } = services;
      // Challenges go through this same core: the agent's lanes, channels and receipt checks.
      const core = createGateway({ router, channels, store, domain, providerInfo, countPrompt, countEmbeddingInput, logger, tokenDecimals: token.decimals, onServed: services.challenges?.observe });
      services.challenges?.attach(core);
      return { services, core };
    })().catch((error) => {
      gateway = undefined;
      throw error;
    });
    return gateway;
  };

  const spend = spender.spend;

  return {
    /** The agent wallet's address. */
    wallet: options.wallet,
    /** The agent key's address. */
    agent: account.address,
    deployment,

    /**
     * An OpenAI-compatible base URL (`http://127.0.0.1:PORT/v1`) that pays from the wallet; any
     * OpenAI client works with it. The first call starts that loopback endpoint (the agent's other
     * calls need none); `close()` stops it.
     */
    async baseUrl(): Promise<string> {
      const live = await running();
      // The HTTP adapter is loaded only by an agent that asks for it.
      live.endpoint ??= import("./startAgentEndpoint.ts")
        .then(({ startAgentEndpoint }) => startAgentEndpoint(live.core, live.services, { logger, tokenDecimals: token.decimals }))
        .catch((error) => {
          live.endpoint = undefined;
          throw error;
        });
      return (await live.endpoint).baseUrl;
    },

    /** What the agent's challenges did so far (undefined when they are off: `challengeShare` 0). */
    async challenges(): Promise<ChallengerStats | undefined> {
      return (await running()).services.challenges?.stats();
    },

    /** The models a live provider serves now, with how many serve each and their lowest prices. */
    async models(): Promise<ModelOffer[]> {
      const { router } = (await running()).services;
      const lowest = (values: bigint[]) => values.reduce((a, b) => (a < b ? a : b));
      // Only live offers count: a model whose providers all stopped is not listed (a chat on it would fail).
      return (await router.listLiveModels()).map((m) => {
        const live = m.offers.filter((o) => router.isLive(o.provider));
        return {
          name: m.name,
          modelId: live[0]!.modelId,
          providers: live.length,
          pricePerMillionInput: lowest(live.map((o) => o.price.pricePerMillionInput)),
          pricePerMillionOutput: lowest(live.map((o) => o.price.pricePerMillionOutput)),
        };
      });
    },

    /**
     * Sends one chat request through the network, paid from the wallet (a channel deposit counts
     * against the budget when one is opened or topped up; each request is then paid by a voucher).
     */
    async chat(request: { model: string; prompt?: string; messages?: ChatMessage[]; maxTokens?: number; temperature?: number; signal?: AbortSignal }): Promise<ChatAnswer> {
      const messages = request.messages ?? (request.prompt !== undefined ? [{ role: "user" as const, content: request.prompt }] : undefined);
      if (!messages?.length) throw new GotongError("A chat needs a prompt or messages", { code: "invalid_arguments", param: "messages" });
      const { core } = await running();
      const body: Record<string, unknown> = { model: request.model, messages, max_tokens: request.maxTokens ?? 128, stream: false };
      if (request.temperature !== undefined) body.temperature = request.temperature;
      // The core's errors are GotongErrors already (a provider's own refusal included): they reach the caller as they are.
      const answer = await core.complete({ api: "chat", body }, { signal: request.signal });
      if (answer.kind !== "answer") throw new GotongError("The gateway streamed an answer to a request that asked for none", { code: "chat_failed" });
      const choices = answer.body.choices as { message?: { content?: string } }[] | undefined;
      return {
        content: choices?.[0]?.message?.content ?? "",
        model: request.model,
        cost: BigInt(answer.summary.cost),
        inputTokens: answer.summary.inputTokens,
        outputTokens: answer.summary.outputTokens,
        receiptId: answer.summary.receiptId,
        provider: answer.provider,
      };
    },

    /**
     * Pays `amount` base units to `to`: the deployment's token by default, another ERC-20 by
     * `token`, or the native coin with `token: zeroAddress`. Counts against that token's budget.
     */
    async pay(request: { to: Address; amount: bigint; token?: Address }): Promise<SpendResult & { to: Address; amount: bigint; token: Address }> {
      if (!isAddress(request.to) || request.to === zeroAddress) throw new GotongError(`Invalid recipient "${request.to}"`, { code: "invalid_arguments", param: "to" });
      if (request.amount <= 0n) throw new GotongError("The amount must be above zero", { code: "invalid_arguments", param: "amount" });
      const payToken = request.token ?? token.address;
      const call =
        payToken === zeroAddress
          ? { target: request.to, value: request.amount, data: "0x" as Hex }
          : { target: payToken, data: encodeFunctionData({ abi: erc20Abi, functionName: "transfer", args: [request.to, request.amount] }) };
      const result = await spend({ what: "payment", calls: [call], charges: [{ token: payToken, amount: request.amount }] });
      return { ...result, to: request.to, amount: request.amount, token: payToken };
    },

    /**
     * Pays another agent by its ERC-8004 agent id, through the reputation registry (the payment can
     * then be cited in feedback, which weighs as much as it).
     */
    async payAgent(request: { agentId: bigint; amount: bigint; memo?: string }): Promise<SpendResult & { paymentId: bigint }> {
      const reputation = deployment.agentReputation;
      if (!reputation) throw new GotongError("This deployment has no agent reputation registry", { code: "agents_not_deployed" });
      if (request.amount <= 0n) throw new GotongError("The amount must be above zero", { code: "invalid_arguments", param: "amount" });
      const result = await spend({
        what: "payment to an agent",
        calls: [
          { target: token.address, data: encodeFunctionData({ abi: erc20Abi, functionName: "approve", args: [reputation, request.amount] }) },
          { target: reputation, data: encodeFunctionData({ abi: AgentReputationArtifact.abi, functionName: "payAgent", args: [request.agentId, request.amount, request.memo ?? ""] }) },
        ],
        charges: [{ token: token.address, amount: request.amount }],
      });
      const [paymentId] = decodeAbiParameters([{ type: "uint256" }], result.results[1]!);
      return { ...result, paymentId };
    },

    /** Reviews another agent, citing every payment this wallet made to it and has not cited (ERC-8004 `giveFeedback`). */
    async review(request: { agentId: bigint; value: number | bigint; decimals?: number; tag1?: string; tag2?: string; endpoint?: string; feedbackURI?: string }): Promise<SpendResult> {
      const reputation = deployment.agentReputation;
      if (!reputation) throw new GotongError("This deployment has no agent reputation registry", { code: "agents_not_deployed" });
      const data = encodeFunctionData({
        abi: AgentReputationArtifact.abi,
        functionName: "giveFeedback",
        args: [request.agentId, BigInt(request.value), request.decimals ?? 0, request.tag1 ?? "", request.tag2 ?? "", request.endpoint ?? "", request.feedbackURI ?? "", `0x${"0".repeat(64)}`],
      });
      return spend({ what: "review", calls: [{ target: reputation, data }], charges: [] });
    },

    /**
     * Donates `amount` base units to a project of a quadratic-funding round (in the round's token),
     * counted against that token's budget.
     */
    async donate(request: { roundId: bigint; projectId: bigint; amount: bigint }): Promise<SpendResult & { roundId: bigint; projectId: bigint; amount: bigint; token: Address }> {
      const funding = deployment.quadraticFunding;
      if (!funding) throw fundingNotDeployedError();
      if (request.amount <= 0n) throw new GotongError("The amount must be above zero", { code: "invalid_arguments", param: "amount" });
      const roundToken = await readRoundToken(clients.public, funding, request.roundId);
      const result = await spend({
        what: "donation",
        calls: [
          { target: roundToken, data: encodeFunctionData({ abi: erc20Abi, functionName: "approve", args: [funding, request.amount] }) },
          { target: funding, data: encodeFunctionData({ abi: QuadraticFundingArtifact.abi, functionName: "donate", args: [request.roundId, request.projectId, request.amount] }) },
        ],
        charges: [{ token: roundToken, amount: request.amount }],
      }).catch((error: unknown) => {
        throw fundingErrorHint(error); // a refusal bubbled up through the wallet, decoded by name: what to do about it
      });
      return { ...result, roundId: request.roundId, projectId: request.projectId, amount: request.amount, token: roundToken };
    },

    /**
     * A funding round as it stands: its window, its projects (model names, donations, donors) and
     * each project's live estimated match, so an agent can choose where a donation does most.
     */
    fundingRound(roundId: bigint): Promise<RoundStatus> {
      if (!deployment.quadraticFunding) throw fundingNotDeployedError();
      return getRoundStatus(clients.public, deployment, roundId);
    },

    /** What the wallet holds, and the agent key's gas money. */
    async balance(): Promise<AgentBalance> {
      const [balance, native, gas] = await Promise.all([
        clients.public.readContract({ address: token.address, abi: erc20Abi, functionName: "balanceOf", args: [options.wallet] }),
        clients.public.getBalance({ address: options.wallet }),
        clients.public.getBalance({ address: account.address }),
      ]);
      return { wallet: options.wallet, token: { ...token, balance }, native, gas: { agent: account.address, balance: gas } };
    },

    /** A token's budget now (default the deployment's token): spent and left this period, and when it resets. */
    async budget(budgetToken: Address = token.address): Promise<AgentBudget> {
      const [status, wallet] = await Promise.all([readAgentBudget(clients.public, options.wallet, budgetToken), spender.status()]);
      const { paused, agent: agentKey } = wallet;
      const unit = tokenUnitOf(deployment, budgetToken) ?? { symbol: budgetToken, decimals: 0 };
      return { ...status, paused, revoked: agentKey.toLowerCase() !== account.address.toLowerCase(), symbol: unit.symbol, decimals: unit.decimals };
    },

    /** The wallet's whole status: owner, agent key, pause, budgets and allowed calls. */
    status(): Promise<AgentWalletStatus> {
      return spender.status();
    },

    /**
     * The wallet's payment channels and how much of its money their deposits hold (`locked`:
     * deposited, not redeemed by providers; `unspent`: not spent by this agent). Deposits counted
     * against the budget when they were made; `closeChannels` brings them back into the wallet.
     */
    channels(): Promise<AgentChannels> {
      return readAgentChannels(clients.public, deployment, home, account.address);
    },

    /**
     * Gets channel deposits back into the wallet: sends the last vouchers, closes every open channel
     * and withdraws each whose challenge period is over (call it again after that period, shown in
     * `closing[].closesAt`, chain time). The next chat opens a fresh channel.
     */
    async closeChannels(): Promise<AgentChannelsClosed> {
      const live = gateway ? (await gateway.catch(() => undefined))?.services : undefined;
      const path = gatewayStorePath(home, account.address);
      if (!live && !existsSync(path)) return { closing: [], waiting: [], withdrawn: [], refunded: 0n };
      const store = live?.store ?? createGatewayStore(path);
      try {
        return await closeAgentChannels({
          store,
          // Through the running gateway's manager when there is one, so it knows at once.
          funder: live ? { close: (id) => live.channels.close(id), withdraw: async (id) => ({ hash: "0x" as Hex, refund: await live.channels.withdraw(id) }) } : funder,
          readChannel: (id) => readChannel(clients.public, deployment.paymentChannels, id),
          chainNow: () => chainTime(clients.public),
          settle: () => (live ? live.settle() : createStandaloneSettler(clients.public, options.agentKey, deployment, store, logger).settle()),
          logger,
        });
      } finally {
        if (!live) store.close();
      }
    },

    /** Stops the in-process gateway (settling the last vouchers first) and its endpoint if one was started. The agent cannot be used after. */
    async close(): Promise<void> {
      closed = true;
      const g = gateway;
      gateway = undefined;
      const live = g && (await g.catch(() => undefined));
      if (!live) return;
      const endpoint = live.endpoint && (await live.endpoint.catch(() => undefined));
      await live.services.stop(() => endpoint?.close());
    },
  };
}

export type Agent = Awaited<ReturnType<typeof createAgent>>;

/** The token a funding round is in; a clear error for a round that does not exist. */
async function readRoundToken(client: ChainClients["public"], funding: Address, roundId: bigint): Promise<Address> {
  try {
    const round = await client.readContract({ address: funding, abi: QuadraticFundingArtifact.abi, functionName: "getRound", args: [roundId] });
    return round.token;
  } catch (cause) {
    throw new GotongError(`Funding round ${roundId} was not found`, { code: "round_not_found", status: 404, hint: "List the rounds with the funding commands, or check the round id.", cause });
  }
}
