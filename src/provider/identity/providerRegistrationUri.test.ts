import { describe, expect, it } from "vitest";
import { registrationDataUri } from "../../agent/registerAgentIdentity.ts";
import { providerRegistrationUri } from "./providerRegistrationUri.ts";

const address = "0x00000000000000000000000000000000000000aa";
const decode = (uri: string) => JSON.parse(Buffer.from(uri.replace(/^data:application\/json;base64,/, ""), "base64").toString("utf8")) as Record<string, unknown>;

describe("providerRegistrationUri", () => {
  it("lists the OpenAI API and the MCP endpoint and declares x402Support when x402 is on", () => {
    const file = decode(providerRegistrationUri({ address, chainId: 8453, endpoint: "https://p.example/", x402Support: true }));
    expect(file).toMatchObject({
      name: `Gotong provider ${address}`,
      services: [
        { name: "wallet", endpoint: `eip155:8453:${address}` },
        { name: "OpenAI", endpoint: "https://p.example/v1" },
        { name: "MCP", endpoint: "https://p.example/mcp" },
      ],
      x402Support: true,
      active: true,
    });
  });

  it("lists no MCP endpoint and declares x402Support false when x402 is off (the MCP tools are paid by x402 only)", () => {
    const file = decode(providerRegistrationUri({ address, chainId: 31337, endpoint: "http://127.0.0.1:8601", x402Support: false, name: "mine" }));
    expect(file).toMatchObject({ name: "mine", services: [{ name: "wallet" }, { name: "OpenAI", endpoint: "http://127.0.0.1:8601/v1" }], x402Support: false });
    expect(file.services).toHaveLength(2);
  });

  it("leaves an agent's registration at x402Support false unless it says otherwise", () => {
    expect(decode(registrationDataUri({ name: "a", description: "d", wallet: address, chainId: 1 })).x402Support).toBe(false);
  });
});
