import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { encodeDeployData, encodeFunctionData, getContractAddress, keccak256, TransactionNotFoundError, type Abi, type Address, type Hex, type TransactionReceipt } from "viem";
import { GotongError } from "../common/errors.ts";
import type { ChainClients } from "./createClients.ts";
import { createdContract, deployErrorOf, type DeployableArtifact, type DeploySteps, type WiringCall } from "./deployContracts.ts";
import { transactionRevertedError } from "./errors.ts";
import { toChainError } from "./writeAndWait.ts";

/** One transaction of a deploy, written down before it is broadcast. */
export type ProgressEntry = {
  /** keccak256 of the transaction's data: a resume with other options or another build is refused. */
  input: Hex;
  nonce: number;
  hash: Hex;
  /** The signed transaction, so a resume rebroadcasts this one (same nonce) and never a second. */
  raw: Hex;
  /** The contract it creates (from the deployer and nonce), for deployments. */
  address?: Address;
  /** Set once mined with the wanted confirmations. */
  gasUsed?: string;
};

/** The progress file of a deploy: `<out>.progress.json` beside the deployment file. */
export type DeployProgress = {
  version: 1;
  chainId: number;
  deployer: Address;
  startBlock: string;
  /** By step: `deploy:ModelRegistry`, `call:setPaymentChannels`, `check:token`. */
  steps: Record<string, ProgressEntry | { done: true }>;
};

/** What {@link resumableSteps} returns: the steps, and what they have recorded. */
export type ResumableSteps = DeploySteps & {
  progress(): DeployProgress;
  /** Runs `fn` once per progress file: skipped on a resume that finds `key` done. */
  once(key: string, fn: () => Promise<void>): Promise<void>;
  /** Gas used by every mined transaction of this deploy, resumed ones included. */
  gasUsed(): bigint;
};

/**
 * Deploy steps that record each transaction in `path` (signed, with its hash and nonce) before
 * broadcasting it, and wait for `confirmations`. A deploy cut anywhere resumes from the file: a
 * confirmed step is skipped, a sent one is waited for (or its recorded transaction rebroadcast if
 * the node lost it), so no contract is deployed twice: the same nonce cannot be mined twice.
 */
export function resumableSteps(clients: ChainClients, path: string, options: { confirmations?: number } = {}): ResumableSteps {
  const confirmations = options.confirmations ?? 1;
  let progress: DeployProgress | undefined = existsSync(path) ? readProgress(path, clients) : undefined;
  const save = () => {
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, JSON.stringify(progress, null, 2) + "\n");
    renameSync(tmp, path);
  };
  const current = (): DeployProgress => {
    if (!progress) throw new Error("resumableSteps: startBlock() must run first");
    return progress;
  };

  /** Sends (or resumes) the transaction of step `key` and returns its receipt. */
  async function transact(key: string, tx: { to?: Address; data: Hex }, what: string): Promise<TransactionReceipt> {
    const input = keccak256(tx.data);
    const recorded = current().steps[key] as ProgressEntry | undefined;
    if (recorded && recorded.input !== input) {
      throw new GotongError(`The progress file ${path} recorded ${key} with other arguments or another build`, {
        code: "deploy_progress_mismatch",
        hint: "Resume with the same options you started with, or choose another --out for a new deployment.",
      });
    }
    const entry = recorded ?? (await signAndRecord(key, tx, input));
    try {
      await clients.public.getTransaction({ hash: entry.hash });
    } catch (error) {
      if (!(error instanceof TransactionNotFoundError)) throw error;
      // Recorded but never broadcast (cut between the two), or dropped by the node: send the very
      // same signed transaction. Its nonce makes a second copy impossible.
      await broadcast(entry, what);
    }
    const receipt = await clients.public.waitForTransactionReceipt({ hash: entry.hash, confirmations, timeout: 600_000 });
    entry.gasUsed = receipt.gasUsed.toString();
    save();
    return receipt;
  }

  async function signAndRecord(key: string, tx: { to?: Address; data: Hex }, input: Hex): Promise<ProgressEntry> {
    const request = await clients.wallet.prepareTransactionRequest({ account: clients.account, chain: clients.chain, to: tx.to, data: tx.data } as never);
    const raw = await clients.wallet.signTransaction(request as never);
    const nonce = Number((request as { nonce: number }).nonce);
    const entry: ProgressEntry = { input, nonce, hash: keccak256(raw), raw };
    if (!tx.to) entry.address = getContractAddress({ from: clients.account.address, nonce: BigInt(nonce) });
    current().steps[key] = entry;
    save();
    return entry;
  }

  async function broadcast(entry: ProgressEntry, what: string) {
    try {
      await clients.public.sendRawTransaction({ serializedTransaction: entry.raw });
    } catch (error) {
      const used = await clients.public.getTransactionCount({ address: clients.account.address, blockTag: "pending" });
      if (used > entry.nonce) {
        throw new GotongError(`${what}: nonce ${entry.nonce} of ${clients.account.address} was used by another transaction than the recorded ${entry.hash}`, {
          code: "deploy_progress_mismatch",
          hint: `Another program sent from the deploying key meanwhile. Check ${entry.hash} and that nonce on an explorer; then start over with another --out (or remove the step from ${path}).`,
          cause: error,
        });
      }
      throw error;
    }
  }

  return {
    async startBlock() {
      if (!progress) {
        const block = await clients.public.getBlockNumber();
        progress = { version: 1, chainId: clients.chain.id, deployer: clients.account.address, startBlock: block.toString(), steps: {} };
        save();
      }
      return BigInt(progress.startBlock);
    },
    async deploy(artifact: DeployableArtifact, args: readonly unknown[]) {
      let receipt: TransactionReceipt;
      try {
        const data = encodeDeployData({ abi: artifact.abi as Abi, bytecode: artifact.bytecode, args: args as never });
        receipt = await transact(`deploy:${artifact.contractName}`, { data }, `deploying ${artifact.contractName}`);
      } catch (error) {
        throw deployErrorOf(clients, artifact, error);
      }
      return createdContract(artifact, receipt);
    },
    async call(call: WiringCall) {
      const key = `call:${call.functionName}`;
      try {
        // Simulated first, the first time only, so a refusal is decoded by name before gas is spent.
        if (!current().steps[key]) await clients.public.simulateContract({ address: call.address, abi: call.abi as Abi, functionName: call.functionName, args: call.args as never, account: clients.account });
        const data = encodeFunctionData({ abi: call.abi as Abi, functionName: call.functionName, args: call.args as never });
        const receipt = await transact(key, { to: call.address, data }, call.functionName);
        if (receipt.status !== "success") throw transactionRevertedError(call.functionName, receipt.transactionHash);
      } catch (error) {
        throw toChainError(error, call.functionName, clients.account.address, call.abi);
      }
    },
    async once(key, fn) {
      if (current().steps[key]) return;
      await fn();
      current().steps[key] = { done: true };
      save();
    },
    progress: current,
    gasUsed: () => Object.values(current().steps).reduce((sum, step) => sum + BigInt((step as ProgressEntry).gasUsed ?? 0), 0n),
  };
}

/** Reads a progress file and refuses one made on another chain or by another key. */
function readProgress(path: string, clients: ChainClients): DeployProgress {
  let value: DeployProgress;
  try {
    value = JSON.parse(readFileSync(path, "utf8")) as DeployProgress;
  } catch (cause) {
    throw new GotongError(`The deploy progress file ${path} is not valid JSON`, { code: "deploy_progress_mismatch", hint: "Restore it, or choose another --out for a new deployment.", cause });
  }
  if (value.version !== 1 || typeof value.steps !== "object" || typeof value.startBlock !== "string") {
    throw new GotongError(`The deploy progress file ${path} is not one gotong deploy wrote`, { code: "deploy_progress_mismatch", hint: "Choose another --out for a new deployment." });
  }
  if (value.chainId !== clients.chain.id || value.deployer.toLowerCase() !== clients.account.address.toLowerCase()) {
    throw new GotongError(`The deploy progress file ${path} belongs to a deploy on chain ${value.chainId} by ${value.deployer}, not chain ${clients.chain.id} by ${clients.account.address}`, {
      code: "deploy_progress_mismatch",
      hint: "Resume with the same --rpc-url and --key, or choose another --out for a new deployment.",
    });
  }
  return value;
}
