import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { isAddress, type Address } from "viem";
import { readAgentConfig } from "../../agent/agentConfig.ts";
import { createAgent } from "../../agent/createAgent.ts";
import { createAgentMcpServer } from "../../agent/createAgentMcpServer.ts";
import { GotongError } from "../../common/errors.ts";
import { readKey } from "../../common/keys.ts";
import { createLogger } from "../../common/logger.ts";
import { context, parse, tokens } from "../shared.ts";

export const help = `gotong mcp [--agent NAME | --wallet ADDRESS --agent-key FILE] [--deposit T] [--deployment FILE]

An MCP server on stdio for any agent framework: tools chat, list_models, pay, donate, balance and
budget, all paid from the agent's wallet within the policy its owner set (gotong agent create).
Logs go to stderr; stdout carries only the protocol. Example client configuration:

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
  const deployment = ctx.deployment(values.deployment);
  let wallet: Address;
  let keyFile: string;
  if (values.wallet || values["agent-key"]) {
    if (!values.wallet || !isAddress(values.wallet) || !values["agent-key"]) {
      throw new GotongError("--wallet ADDRESS and --agent-key FILE go together", { code: "invalid_arguments", hint: help });
    }
    wallet = values.wallet;
    keyFile = values["agent-key"];
  } else {
    const config = readAgentConfig(ctx.home, values.agent ?? "default");
    wallet = config.wallet;
    keyFile = config.agentKeyFile;
  }
  const agent = await createAgent({
    wallet,
    agentKey: readKey(keyFile),
    deployment,
    home: ctx.home,
    deposit: values.deposit ? tokens(values.deposit, deployment.token.decimals, 0n) : undefined,
    // stdout is the protocol: everything else goes to stderr.
    logger: createLogger({ level: values.verbose ? "debug" : "warn" }),
  });
  const server = createAgentMcpServer(agent);
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
  await agent.close();
}
