import { readFileSync, writeFileSync, renameSync, existsSync } from "node:fs";
import type { Address } from "viem";
import { GotongError } from "../common/errors.ts";

/** Where Gotong's contracts live on one chain: written by `gotong devnet` or `gotong deploy`, read by every role. */
export type Deployment = {
  chainId: number;
  /** The chain's JSON-RPC endpoint: the first one tried. */
  rpcUrl: string;
  /**
   * Every endpoint of the chain, in order of preference (rpcUrl first): a call the first cannot
   * answer (timed out, rate-limited, gone) goes to the next. `GOTONG_RPC_URLS` overrides both on one host.
   */
  rpcUrls?: string[];
  /** Block the contracts were deployed in; event scans start here. */
  startBlock: string;
  token: { address: Address; symbol: string; decimals: number };
  modelRegistry: Address;
  providerRegistry: Address;
  paymentChannels: Address;
  /** Where protocol fees are credited; equals `quadraticFunding` on deployments that have it. */
  fundingPool: Address;
  /** QuadraticFunding: funding rounds, fed by the protocol fee (absent on deployments made before it). */
  quadraticFunding?: Address;
  /** AttestationRegistry that funding rounds can require donors to be attested in (absent before it). */
  attestationRegistry?: Address;
  /** AgentWalletFactory: agent wallets with an on-chain spending policy (absent before agents). */
  agentWalletFactory?: Address;
  /** AgentRegistry: ERC-8004 agent identities (absent before agents). */
  agentRegistry?: Address;
  /** AgentReputation: feedback that counts only with a payment, weighted by it (absent before agents). */
  agentReputation?: Address;
  /**
   * X402Splitter: where x402 `exact` payments land (one payee per provider and model) and are split
   * as a voucher redeem is (absent on deployments made before x402).
   */
  x402Splitter?: Address;
  /** DatasetRegistry: ERC-721 datasets that models name in their lineage (`ModelRegistry.datasets()`; absent before datasets). */
  datasetRegistry?: Address;
  /** DataPoolFactory: data pools of many contributors, each owning one dataset (absent before datasets). */
  dataPoolFactory?: Address;
  /**
   * ServingVerification: staked validators, fraud cases and slashing of provider stake (absent on
   * deployments made before verified serving; `servingVerificationOf` in src/validator names the problem where it is needed).
   */
  servingVerification?: Address;
  /** DerivationCourt: disputes that a model is an undeclared derivative, decided by ServingVerification's validators (absent before it). */
  derivationCourt?: Address;
  protocolFeeBps: number;
  challengePeriod: number;
  minStake: string;
};

/** Reads a deployment file, with a clear error naming what is missing. */
export function readDeployment(path: string): Deployment {
  if (!existsSync(path)) {
    throw new GotongError(`No deployment file at ${path}`, {
      code: "deployment_missing",
      hint: "Start a local chain with `gotong devnet` (or `gotong up`), or pass --deployment FILE for another network (`gotong deploy` writes one).",
    });
  }
  let value: Deployment;
  try {
    value = JSON.parse(readFileSync(path, "utf8")) as Deployment;
  } catch (cause) {
    throw new GotongError(`The deployment file ${path} is not valid JSON`, { code: "deployment_invalid", cause });
  }
  for (const key of ["chainId", "rpcUrl", "token", "modelRegistry", "providerRegistry", "paymentChannels", "fundingPool"] as const) {
    if (value[key] === undefined) throw new GotongError(`The deployment file ${path} has no "${key}"`, { code: "deployment_invalid" });
  }
  const fromEnv = process.env.GOTONG_RPC_URLS?.trim();
  if (fromEnv) {
    const urls = parseRpcUrls(fromEnv, "GOTONG_RPC_URLS");
    return { ...value, rpcUrl: urls[0]!, rpcUrls: urls };
  }
  if (value.rpcUrls !== undefined) {
    if (!Array.isArray(value.rpcUrls) || value.rpcUrls.length === 0) throw new GotongError(`The deployment file ${path} has "rpcUrls" that is not a list of URLs`, { code: "deployment_invalid" });
    parseRpcUrls(value.rpcUrls.join(","), `rpcUrls of ${path}`);
  }
  return value;
}

/**
 * The endpoints in a comma-separated list, each checked to be an http(s) URL: a typo is named
 * here, not met later as a chain that cannot be reached.
 */
export function parseRpcUrls(text: string, where: string): string[] {
  const urls = text.split(",").map((u) => u.trim()).filter((u) => u !== "");
  if (urls.length === 0) throw new GotongError(`${where} names no RPC URL`, { code: "invalid_arguments", hint: "Give one or more http(s) JSON-RPC URLs, separated by commas." });
  for (const url of urls) {
    let protocol: string;
    try {
      protocol = new URL(url).protocol;
    } catch {
      protocol = "";
    }
    if (protocol !== "http:" && protocol !== "https:") {
      throw new GotongError(`${where}: "${url}" is not an http(s) URL`, { code: "invalid_arguments", hint: "Give one or more http(s) JSON-RPC URLs, separated by commas, e.g. https://rpc-a.example,https://rpc-b.example." });
    }
  }
  return [...new Set(urls)];
}

/** Writes a deployment file atomically. */
export function writeDeployment(path: string, deployment: Deployment): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(deployment, null, 2) + "\n");
  renameSync(tmp, path);
}
