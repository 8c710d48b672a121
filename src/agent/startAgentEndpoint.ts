import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { Logger } from "../common/logger.ts";
import type { Gateway } from "../gateway/core/createGateway.ts";
import { createGatewayServer } from "../gateway/createGatewayServer.ts";
import type { GatewayServices } from "../gateway/startGatewayServices.ts";

/** An agent's OpenAI-compatible endpoint on loopback; see {@link startAgentEndpoint}. */
export type AgentEndpoint = {
  /** `http://127.0.0.1:PORT/v1`. */
  baseUrl: string;
  /** Closes the server and every connection to it. */
  close(): void;
};

/**
 * Serves an agent's in-process gateway core over HTTP on a free loopback port, for OpenAI clients
 * that need a base URL. Only when asked for (`agent.baseUrl()`): the agent's own calls go to the
 * core directly. The server wraps the agent's one core, so requests from both share its channel
 * lanes (one request at a time per channel, as the provider requires). No web app is mounted.
 *
 * @example const { baseUrl } = await startAgentEndpoint(core, services, { logger, tokenDecimals: 6 });
 */
export async function startAgentEndpoint(core: Gateway, services: GatewayServices, options: { logger: Logger; tokenDecimals: number }): Promise<AgentEndpoint> {
  const server = createGatewayServer({
    gateway: core,
    router: services.router,
    channels: services.channels,
    store: services.store,
    domain: services.domain,
    providerInfo: services.providerInfo,
    logger: options.logger,
    tokenDecimals: options.tokenDecimals,
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}
