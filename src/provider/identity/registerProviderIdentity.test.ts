import { describe, expect, it } from "vitest";
import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";
import type { ChainClients } from "../../chain/createClients.ts";
import type { Deployment } from "../../chain/deployment.ts";
import { registerProviderIdentity } from "./registerProviderIdentity.ts";

describe("registerProviderIdentity", () => {
  it("refuses a deployment without an agent registry, before sending anything", async () => {
    const clients = { account: privateKeyToAccount(generatePrivateKey()) } as unknown as ChainClients;
    const deployment = { chainId: 31337 } as unknown as Deployment;
    await expect(registerProviderIdentity(clients, deployment, { endpoint: "http://127.0.0.1:8601", x402Support: true })).rejects.toMatchObject({ code: "agents_not_deployed" });
  });
});
