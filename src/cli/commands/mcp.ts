import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { isAddress, type Address } from "viem";
import { readAgentConfig } from "../../agent/agentConfig.ts";
import type { Agent } from "../../agent/createAgent.ts";
import { createAgentMcpServer } from "../../agent/createAgentMcpServer.ts";
import { GotongError, isGotongError } from "../../common/errors.ts";
import { readKey } from "../../common/keys.ts";
import { createLogger } from "../../common/logger.ts";
import { context, parse, tokens } from "../shared.ts";

export const help = `gotong mcp [--agent NAME | --wallet ADDRESS --agent-key FILE] [--deposit T] [--deployment FILE]

An MCP server on stdio for any agent framework: tools chat, list_models, pay, donate, balance and
budget, all paid from the agent's wallet within the policy its owner set (gotong agent create).
Without an agent set up yet it still starts, and each tool call answers with the command to run
(no restart is needed after it). Amounts are whole tokens, as numbers or decimal strings. Logs go
to stderr; stdout carries only the protocol. Example client configuration:

  { "command": "npx", "args": ["gotong", "mcp", "--agent", "default"] }`;

export async function run(args: string[]) {
  const { values } = parse(args, {
    agent: { type: "string" },
    wallet: { type: "string" },
    "agent-key": { type: "string" },
    deposit: { type: "string" },
    deployment: { type: "string" },
  }, false);
  const ctx = context(values);
  const explicit = values.wallet || values["agent-key"];
  if (explicit && (!values.wallet || !isAddress(values.wallet) || !values["agent-key"])) {
    throw new GotongError("--wallet ADDRESS and --agent-key FILE go together", { code: "invalid_arguments", hint: help });
  }
  const name = values.agent ?? "default";
  // The command a user runs, with this data folder when it is not the default one.
  const here = values.home || process.env.GOTONG_HOME ? ` --home ${ctx.home.root}` : "";
  // The agent is made on the first tool call (and again on the next while that fails): a client
  // started before the agent was set up stays connected, and each call says what to run.
  let made: Agent | undefined;
  const makeAgent = async (): Promise<Agent> => {
    let deployment;
    try {
      deployment = ctx.deployment(values.deployment);
    } catch (cause) {
      throw new GotongError(`gotong mcp has no network to work on: ${(cause as Error).message}`, {
        code: "deployment_missing",
        hint: `Run \`gotong up${here}\` (or start gotong mcp with --deployment FILE), then \`gotong agent create ${name}${here}\`, then call the tool again.`,
        cause,
      });
    }
    let wallet: Address;
    let keyFile: string;
    if (explicit) {
      wallet = values.wallet as Address;
      keyFile = values["agent-key"]!;
    } else {
      try {
        ({ wallet, agentKeyFile: keyFile } = readAgentConfig(ctx.home, name));
      } catch (cause) {
        if (!isGotongError(cause, "agent_not_found")) throw cause;
        throw new GotongError(`gotong mcp has no agent wallet to pay from: ${cause.message}`, {
          code: "agent_not_found",
          hint: `Run \`gotong agent create ${name}${here}\` (it takes --budget T --period 1d --fund T), then call the tool again; no restart is needed.${cause.hint ? ` ${cause.hint}` : ""}`,
          cause,
        });
      }
    }
    // Loaded here, not at startup: the client's `initialize` is answered before the agent's
    // modules (the gateway core, its store, llama.cpp's tokenizer) are read.
    const { createAgent } = await import("../../agent/createAgent.ts");
    made = await createAgent({
      wallet,
      agentKey: readKey(keyFile),
      deployment,
      home: ctx.home,
      deposit: values.deposit ? tokens(values.deposit, deployment.token.decimals, 0n) : undefined,
      // stdout is the protocol: everything else goes to stderr.
      logger: createLogger({ level: values.verbose ? "debug" : "warn" }),
    });
    return made;
  };
  let symbol: string | undefined;
  try {
    symbol = ctx.deployment(values.deployment).token.symbol;
  } catch {
    // No network yet: the tools say so when called.
  }
  const server = createAgentMcpServer(makeAgent, { token: symbol ? { symbol } : undefined });
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once("end", () => resolve());
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  await server.connect(transport);
  await closed;
  await server.close().catch(() => {});
  await made?.close();
}
