import { LISTEN_BACKLOG } from "../common/http.ts";
import { mkdirSync } from "node:fs";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createClients } from "../chain/createClients.ts";
import type { Deployment } from "../chain/deployment.ts";
import type { GotongHome } from "../common/home.ts";
import { startLocked } from "../common/lockState.ts";
import type { Logger } from "../common/logger.ts";
import { hashFile } from "../model/hashFile.ts";
import { resolveRegisteredModel } from "../provider/resolveRegisteredModel.ts";
import { createVerifier, type Verifier } from "../verification/index.ts";
import { createCaseWatcher } from "./createCaseWatcher.ts";
import { createDisputeWatcher } from "./createDisputeWatcher.ts";
import { createWeightsLocator } from "./createWeightsLocator.ts";
import { createJudge, type BlindVote } from "./createJudge.ts";
import { createPassBatcher } from "./createPassBatcher.ts";
import { createValidatorServer } from "./createValidatorServer.ts";
import { createValidatorStore } from "./createValidatorStore.ts";
import { ensureValidatorRegistered } from "./ensureValidatorRegistered.ts";
import { servingVerificationOf } from "./servingVerificationOf.ts";
import { validationDomain } from "./validationSignature.ts";

export type StartValidatorOptions = {
  home: GotongHome;
  deployment: Deployment;
  privateKey: Hex;
  /** GGUF files to validate; each must hash to weights registered in ModelRegistry. */
  modelPaths: string[];
  /** Port on `host`; 0 picks a free one. Default 8701. */
  port?: number;
  host?: string;
  /** URL gateways reach this validator at, registered on-chain. Default http://host:port. */
  publicUrl?: string;
  /** Stake to register with; default the contract's minimum. */
  stake?: bigint;
  /** CPU threads per re-run. Default 1 (what the comparison's tolerance was measured with). */
  threads?: number;
  /** Logit margin tolerated per position (VerifyOptions.tolerance). Default DEFAULT_TOLERANCE. */
  tolerance?: number;
  /** Time between case-scan rounds. Default 2 s. */
  pollMs?: number;
  /** How often to look for passes due for `attestPasses`. Default 10 min. */
  attestIntervalMs?: number;
  /** A provider's pending passes that make its attestation due. Default 50 (DEFAULT_ATTEST_MIN_PASSES). */
  attestMinPasses?: number;
  /** Or the age of its oldest pending pass that does. Default 24 h (DEFAULT_ATTEST_MAX_AGE_MS). */
  attestMaxAgeMs?: number;
  /** Tests only: vote this way on everything without running a model. */
  blindVote?: BlindVote;
  logger: Logger;
};

/** Where a validator keeps its store: one file per key. */
export function validatorStorePath(home: GotongHome, address: string): string {
  return join(home.root, "validator", `validator-${address.toLowerCase()}.db`);
}

/** The lock one validator identity holds while it runs. */
export function validatorLockPath(home: GotongHome, address: string): string {
  return join(home.locks, `validator-${address.toLowerCase()}.lock`);
}

/**
 * Starts a validator: loads the hash-verified weights it validates, serves `POST /gotong/validate`,
 * registers on-chain with stake (once) at its endpoint, attests the passes it saw in batches, and
 * votes on the cases it is drawn in (commit, reveal, finalize), fraud cases and derivation disputes alike. One process per identity: the lock
 * is taken before any state is touched.
 *
 * @example const validator = await startValidator({ home, deployment, privateKey, modelPaths: ["m.gguf"], logger }); await validator.stop();
 */
export async function startValidator(options: StartValidatorOptions) {
  const address = privateKeyToAccount(options.privateKey).address;
  return startLocked(
    validatorLockPath(options.home, address),
    { what: `The validator ${address} in ${options.home.root}`, hint: "start another validator with its own key (--key FILE)" },
    () => serveValidator(options),
  );
}

async function serveValidator(options: StartValidatorOptions) {
  const { deployment, logger } = options;
  const servingVerification = servingVerificationOf(deployment);
  const account = privateKeyToAccount(options.privateKey);
  const clients = createClients({ rpcUrl: deployment.rpcUrl, rpcUrls: deployment.rpcUrls, chainId: deployment.chainId, account });
  const paymentDomain = { chainId: deployment.chainId, verifyingContract: deployment.paymentChannels };

  const verifiers = new Map<string, Verifier>();
  const dispose = () => Promise.all([...verifiers.values()].map((v) => v.dispose()));
  try {
    if (!options.blindVote) {
      for (const path of options.modelPaths) {
        const weightsHash = `0x${await hashFile(path)}` as Hex;
        // Only registered weights: a verdict is about the weights a receipt names, as registered.
        const registered = await resolveRegisteredModel(clients.public, deployment, weightsHash);
        verifiers.set(weightsHash.toLowerCase(), await createVerifier({ path, weightsHash }, { threads: options.threads }));
        logger.info("model loaded for validation", { model: registered.name, modelId: registered.modelId, sha256: weightsHash.slice(2, 14) });
      }
    } else {
      logger.warn("blind voting: every vote is cast without running a model (a test mode)", { vote: options.blindVote });
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  const judge = createJudge({ verifiers, domain: paymentDomain, blindVote: options.blindVote, tolerance: options.tolerance });
  mkdirSync(join(options.home.root, "validator"), { recursive: true, mode: 0o700 });
  const store = createValidatorStore(validatorStorePath(options.home, account.address));
  const batcher = createPassBatcher({ clients, servingVerification, store, logger: logger.child("attest"), intervalMs: options.attestIntervalMs, minPasses: options.attestMinPasses, maxAgeMs: options.attestMaxAgeMs });
  const server = createValidatorServer({
    account,
    judge,
    paymentDomain,
    validationDomain: validationDomain(deployment.chainId, servingVerification),
    onPass: (provider, evidence) => batcher.add(provider, evidence),
    logger,
  });
  const startBlock = BigInt(deployment.startBlock ?? 0);
  const watcher = createCaseWatcher({ clients, servingVerification, store, judge, logger: logger.child("cases"), startBlock, pollMs: options.pollMs });
  // Derivation disputes: both models' weights are looked for among the validator's files and in the
  // home's models folder (a disputed pair is rarely a pair the validator serves verification for).
  const disputes = deployment.derivationCourt
    ? createDisputeWatcher({
        clients,
        derivationCourt: deployment.derivationCourt,
        store,
        weights: createWeightsLocator({ files: options.modelPaths, folder: options.home.models }),
        judging: { threads: options.threads },
        blindVote: options.blindVote,
        logger: logger.child("disputes"),
        startBlock,
        pollMs: options.pollMs,
      })
    : undefined;
  let url: string;
  let stake: bigint;
  try {
    const host = options.host ?? "127.0.0.1";
    server.listen({ port: options.port ?? 8701, host, backlog: LISTEN_BACKLOG });
    await once(server, "listening");
    url = options.publicUrl ?? `http://${host}:${(server.address() as AddressInfo).port}`;
    stake = await ensureValidatorRegistered(clients, deployment, servingVerification, { endpoint: url, stake: options.stake, logger });
  } catch (error) {
    server.close();
    store.close();
    await judge.dispose();
    throw error;
  }
  watcher.start();
  disputes?.start();
  batcher.start();
  logger.info("validator running", { url, address: account.address, stake, models: judge.weightsHashes.length });
  let stopped: Promise<void> | undefined;
  return {
    url,
    address: account.address,
    servingVerification,
    store,
    watcher,
    disputes,
    batcher,
    stop: () =>
      (stopped ??= (async () => {
        server.closeAllConnections();
        server.close();
        await watcher.stop();
        await disputes?.stop();
        // What was checked is attested before leaving, so no pass is held back until the next start.
        await batcher.stop();
        await judge.dispose();
        store.close();
        logger.info("validator stopped", { address: account.address });
      })()),
  };
}

export type RunningValidator = Awaited<ReturnType<typeof startValidator>>;
