import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Address } from "viem";
import { GotongError } from "../common/errors.ts";
import type { GotongHome } from "../common/home.ts";

/** An agent `gotong agent create` made, as kept in `GOTONG_HOME/agents/NAME.json`. */
export type AgentConfig = {
  name: string;
  wallet: Address;
  agent: Address;
  owner: Address;
  /** The agent key's file (mode 0600), under GOTONG_HOME/keys unless given. */
  agentKeyFile: string;
  chainId: number;
  /** The ERC-8004 agent id, when one was registered. */
  agentId?: string;
  createdAt: string;
};

/** Where agent configs live. */
export function agentsDir(home: GotongHome): string {
  return join(home.root, "agents");
}

/** Refuses names that would not make a safe file name. */
export function checkAgentName(name: string): void {
  if (!/^[a-z0-9][a-z0-9-]{0,40}$/.test(name)) {
    throw new GotongError(`Invalid agent name "${name}"`, { code: "invalid_arguments", hint: "Use lowercase letters, digits and dashes (e.g. research-bot)." });
  }
}

/** Reads an agent's config, with a clear error when there is none. */
export function readAgentConfig(home: GotongHome, name: string): AgentConfig {
  checkAgentName(name);
  const path = join(agentsDir(home), `${name}.json`);
  if (!existsSync(path)) {
    const known = listAgentConfigs(home).map((c) => c.name);
    throw new GotongError(`No agent named "${name}" in ${agentsDir(home)}`, {
      code: "agent_not_found",
      hint: known.length ? `Agents here: ${known.join(", ")}.` : "Create one with `gotong agent create`.",
    });
  }
  return JSON.parse(readFileSync(path, "utf8")) as AgentConfig;
}

/** Writes an agent's config atomically. */
export function writeAgentConfig(home: GotongHome, config: AgentConfig): void {
  checkAgentName(config.name);
  mkdirSync(agentsDir(home), { recursive: true, mode: 0o700 });
  const path = join(agentsDir(home), `${config.name}.json`);
  writeFileSync(`${path}.tmp`, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

/** Every agent config in the data folder. */
export function listAgentConfigs(home: GotongHome): AgentConfig[] {
  if (!existsSync(agentsDir(home))) return [];
  return readdirSync(agentsDir(home))
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(join(agentsDir(home), f), "utf8")) as AgentConfig);
}
