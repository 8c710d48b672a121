import { parseArgs, type ParseArgsConfig } from "node:util";
import { privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";
import { readDeployment, type Deployment } from "../chain/deployment.ts";
import { createClients, createReader, type ChainClients } from "../chain/createClients.ts";
import { GotongError } from "../common/errors.ts";
import { resolveHome, type GotongHome } from "../common/home.ts";
import { loadOrCreateKey, readKey } from "../common/keys.ts";
import { createLogger, type Logger } from "../common/logger.ts";
import { parseUnits } from "../payments/price.ts";

/** Options every command understands. */
export const commonOptions = {
  home: { type: "string" },
  verbose: { type: "boolean", short: "v" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

/** What {@link parse} returns for a command's options `O`. */
export type ParsedArgs<O extends NonNullable<ParseArgsConfig["options"]>> = ReturnType<typeof parseArgs<{ args: string[]; options: typeof commonOptions & O; allowPositionals: boolean; strict: true }>>;

/** Parses a command's arguments with a clear error for an unknown option. */
export function parse<O extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: O, allowPositionals = true): ParsedArgs<O> {
  try {
    return parseArgs({ args, options: { ...commonOptions, ...options }, allowPositionals, strict: true });
  } catch (cause) {
    throw new GotongError((cause as Error).message, { code: "invalid_arguments", hint: "Run the command with --help to see its options." });
  }
}

/** What {@link context} gives a command. */
export type CommandContext = {
  home: GotongHome;
  logger: Logger;
  deployment(path?: string): Deployment;
  key(role: string, file?: string): Hex;
  clients(deployment: Deployment, key: Hex): ChainClients;
  /** A client that only reads from the chain: it needs no key. */
  reader(deployment: Deployment): ReturnType<typeof createReader>;
};

/** Everything a command needs: the data folder, a logger, and (lazily) the deployment. */
export function context(values: { home?: string; verbose?: boolean }): CommandContext {
  const home: GotongHome = resolveHome(values.home);
  const logger: Logger = createLogger({ level: values.verbose ? "debug" : undefined });
  return {
    home,
    logger,
    deployment(path?: string): Deployment {
      return readDeployment(path ?? home.deployment);
    },
    key(role: string, file?: string): Hex {
      return file ? readKey(file) : loadOrCreateKey(home.keys, role);
    },
    clients(deployment: Deployment, key: Hex) {
      return createClients({ rpcUrl: deployment.rpcUrl, rpcUrls: deployment.rpcUrls, chainId: deployment.chainId, account: privateKeyToAccount(key) });
    },
    /** A client that only reads from the chain: it needs no key. */
    reader(deployment: Deployment) {
      return createReader(deployment);
    },
  };
}

/** Parses a token amount given in whole tokens (`"1.5"`) into base units. */
export function tokens(text: string | undefined, decimals: number, fallback: bigint): bigint {
  if (text === undefined) return fallback;
  try {
    return parseUnits(text, decimals);
  } catch (cause) {
    throw new GotongError(`Invalid amount "${text}": ${(cause as Error).message}`, { code: "invalid_arguments" });
  }
}

/** Parses a non-negative integer option. */
export function integer(text: string | undefined, name: string, fallback?: number): number | undefined {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new GotongError(`--${name} must be a non-negative integer, not "${text}"`, { code: "invalid_arguments" });
  return Number(text);
}

/**
 * Resolves when the process is asked to stop (Ctrl-C or SIGTERM), so the caller can shut down
 * cleanly. A second Ctrl-C while that runs stops at once, but through `process.exit`: left to the
 * default signal action the process would die without its exit handlers, and the chain it
 * started, in a process group of its own, would keep running with its last seconds unsaved.
 */
export function untilStopped(): Promise<string> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (!stopping) {
        stopping = true;
        resolve(signal);
        return;
      }
      process.stderr.write(`\n${signal} again: stopping now, without waiting for the rest of the clean shutdown.\n`);
      process.exit(130);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}
