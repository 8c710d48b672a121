import { erc20Abi, isAddressEqual, zeroAddress, type Address, type Hex, type TransactionReceipt } from "viem";
import type { ChainClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import { AgentWalletArtifact } from "../chain/contracts.generated.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { GotongError } from "../common/errors.ts";
import { agentRefusedError } from "./errors.ts";
import type { Logger } from "../common/logger.ts";
import { formatUnits } from "../payments/price.ts";
import { readAgentWallet, type AgentWalletStatus } from "./readAgentWallet.ts";
import { tokenUnitOf } from "./tokenUnitOf.ts";
import { agentWalletAbi } from "./walletAbi.ts";

/** One call the agent makes through its wallet. */
export type AgentCall = { target: Address; value?: bigint; data: Hex };

/** What a spend takes from a budget: `amount` base units of `token` (the zero address: native coin). */
export type AgentCharge = { token: Address; amount: bigint };

/** A spend: the calls, in one transaction, and what they take from the budgets. */
export type SpendRequest = {
  calls: AgentCall[];
  charges: AgentCharge[];
  /** What it is for, in errors and logs ("pay", "channel deposit", "donation"). */
  what: string;
};

/** A mined spend. */
export type SpendResult = { hash: Hex; receipt: TransactionReceipt; results: readonly Hex[] };

export type AgentSpenderOptions = {
  /** Clients acting as the agent key (it signs and pays the gas for the wallet's transactions). */
  clients: ChainClients;
  deployment: Deployment;
  /** The agent wallet. */
  wallet: Address;
  logger?: Logger;
};

/** The selector of a call (`0x00000000` for a plain transfer). */
function selectorOf(data: Hex): Hex {
  return data.length >= 10 ? (data.slice(0, 10).toLowerCase() as Hex) : "0x00000000";
}

/**
 * Spends from an agent wallet with the agent key, within the owner's policy. Spends run one at a
 * time, and each is checked against the wallet's policy as the chain holds it just before it is
 * sent: the key is current, unexpired and not paused, the chain is the wallet's, each call is
 * allowed, and the charges fit the per-transaction cap, the budget left in this period and the
 * balance. So parallel requests that each fit but together exceed the budget are refused here, with
 * an error saying which, before any transaction; the wallet contract refuses them regardless.
 */
export function createAgentSpender(options: AgentSpenderOptions) {
  const { clients, deployment, wallet, logger } = options;
  const me = clients.account.address;
  let queue: Promise<unknown> = Promise.resolve();
  let checkedChain: Promise<void> | undefined;

  const serially = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => {});
    return next;
  };

  /** The RPC's chain must be the deployment's, and the wallet must have been created on it. */
  const checkChain = () =>
    (checkedChain ??= (async () => {
      const [rpcChain, walletChain] = await Promise.all([
        clients.public.getChainId(),
        clients.public.readContract({ address: wallet, abi: AgentWalletArtifact.abi, functionName: "chainId" }).catch(() => undefined) as Promise<bigint | undefined>,
      ]);
      if (walletChain === undefined) {
        throw new GotongError(`No agent wallet at ${wallet} on chain ${rpcChain}`, { code: "wallet_not_found", hint: "Check the wallet address and the deployment (--deployment)." });
      }
      if (rpcChain !== deployment.chainId || Number(walletChain) !== rpcChain) {
        throw new GotongError(`The agent wallet was created on chain ${walletChain}, the deployment names chain ${deployment.chainId} and the RPC serves chain ${rpcChain}`, {
          code: "wrong_chain",
          status: 400,
          hint: "An agent key cannot spend on another chain: use the deployment file of the chain the wallet was created on.",
        });
      }
    })().catch((error) => {
      checkedChain = undefined;
      throw error;
    }));

  /** Refuses the spend, before sending it, for anything the wallet would refuse. */
  const preflight = async (request: SpendRequest, status: AgentWalletStatus) => {
    if (!isAddressEqual(status.agent, me)) {
      const revoked = status.revoked || ((await clients.public.readContract({ address: wallet, abi: AgentWalletArtifact.abi, functionName: "isRevokedKey", args: [me] })) as boolean);
      if (revoked) {
        throw new GotongError(`The agent key ${me} was revoked by the wallet's owner: nothing was spent`, {
          code: "agent_revoked",
          status: 403,
          hint: "Only the owner can give this wallet an agent key again (gotong agent policy --agent ADDRESS).",
        });
      }
      throw new GotongError(`${me} is not this wallet's agent key: nothing was spent`, { code: "not_agent", status: 403, hint: `The wallet's agent key is ${status.agent}.` });
    }
    if (status.agentExpiresAt !== 0 && status.agentExpiresAt * 1000 <= Date.now()) {
      throw new GotongError(`The agent key expired at ${new Date(status.agentExpiresAt * 1000).toISOString()}: nothing was spent`, { code: "agent_expired", status: 403, hint: "Ask the owner to renew it." });
    }
    if (status.paused) {
      throw agentRefusedError("wallet_paused", "The owner has paused this agent wallet: nothing was spent", { hint: "The owner can resume it with `gotong agent policy --unpause`." });
    }
    for (const call of request.calls) {
      const selector = selectorOf(call.data);
      if (!status.calls.some((c) => isAddressEqual(c.target, call.target) && c.selector.toLowerCase() === selector)) {
        throw new GotongError(`The wallet's policy does not allow calling ${selector} on ${call.target}: nothing was spent`, {
          code: "call_not_allowed",
          status: 403,
          hint: "The owner decides which contracts and functions the agent may call (gotong agent policy --allow TARGET:SELECTOR).",
        });
      }
    }
    const totals = new Map<string, bigint>();
    for (const c of request.charges) totals.set(c.token.toLowerCase(), (totals.get(c.token.toLowerCase()) ?? 0n) + c.amount);
    for (const [token, amount] of totals) {
      if (amount === 0n) continue;
      const known = tokenUnitOf(deployment, token as Address);
      const unit = known ?? { symbol: `of ${token}`, decimals: 0 };
      const show = (v: bigint) => `${formatUnits(v, unit.decimals)} ${unit.symbol}`;
      const budget = status.budgets.find((b) => isAddressEqual(b.token, token as Address));
      if (!budget || budget.period === 0) {
        throw new GotongError(`The wallet has no budget for ${known?.symbol ?? token}: the ${request.what} was refused and nothing was spent`, {
          code: "no_budget",
          status: 402,
          hint: "The owner can set one with `gotong agent policy --budget`.",
        });
      }
      if (amount > budget.maxPerTransaction) {
        throw new GotongError(`The ${request.what} needs ${show(amount)}, above the cap of ${show(budget.maxPerTransaction)} per transaction: nothing was spent`, {
          code: "over_transaction_cap",
          status: 402,
          hint: "Split it, or ask the owner to raise the cap (gotong agent policy --max-per-tx).",
        });
      }
      if (amount > budget.left) {
        throw new GotongError(`The ${request.what} needs ${show(amount)} but only ${show(budget.left)} of the budget is left this period: nothing was spent`, {
          code: "budget_exceeded",
          status: 402,
          hint: `The budget of ${show(budget.budget)} resets at ${new Date(budget.resetsAt * 1000).toISOString()}.`,
        });
      }
      const balance =
        token === zeroAddress
          ? await clients.public.getBalance({ address: wallet })
          : await clients.public.readContract({ address: token as Address, abi: erc20Abi, functionName: "balanceOf", args: [wallet] });
      if (balance < amount) {
        throw new GotongError(`The wallet holds ${show(balance)}, less than the ${show(amount)} the ${request.what} needs: nothing was spent`, {
          code: "insufficient_balance",
          status: 402,
          hint: `Send tokens to the wallet ${wallet}.`,
        });
      }
    }
  };

  return {
    /** The agent wallet's address. */
    wallet,
    /** The agent key's address. */
    agent: me,
    /**
     * Makes the calls in one wallet transaction once the checks pass; spends run one at a time.
     * Refusals are GotongErrors (`budget_exceeded`, `over_transaction_cap`, `agent_revoked`,
     * `wallet_paused`, `call_not_allowed`, `wrong_chain`, ...) and nothing is spent.
     */
    spend(request: SpendRequest): Promise<SpendResult> {
      return serially(async () => {
        await checkChain();
        await preflight(request, await readAgentWallet(clients.public, wallet));
        const calls = request.calls.map((c) => ({ target: c.target, value: c.value ?? 0n, data: c.data }));
        const { hash, receipt, result } = await writeAndWait(clients, { address: wallet, abi: agentWalletAbi, functionName: "executeBatch", args: [calls] });
        logger?.info("agent spent", { what: request.what, hash, charges: request.charges.map((c) => `${c.amount}@${c.token}`).join(",") });
        return { hash, receipt, results: result as readonly Hex[] };
      });
    },
    /** The wallet's status (owner, key, pause, budgets, policy) as the chain holds it now. */
    status: () => readAgentWallet(clients.public, wallet),
    /** Runs `fn` in the spend queue (after every spend already asked for). */
    serially,
  };
}

export type AgentSpender = ReturnType<typeof createAgentSpender>;
