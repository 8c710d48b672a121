import { afterAll, describe, expect, it } from "vitest";
import { erc20Abi } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createClients } from "../../src/chain/createClients.ts";
import { readDeployment } from "../../src/chain/deployment.ts";
import { fundOnDevnet } from "../../src/chain/fundOnDevnet.ts";
import { ModelRegistryArtifact } from "../../src/chain/contracts.generated.ts";
import { writeAndWait } from "../../src/chain/writeAndWait.ts";
import { spawnGotong } from "../helpers/cli.ts";
import { freePort } from "../helpers/ports.ts";
import { tempHome } from "../helpers/tempHome.ts";

describe("gotong devnet", () => {
  const home = tempHome();
  afterAll(() => home.cleanup());

  it("keeps balances, models and deployments across a restart", async () => {
    const port = await freePort();
    const first = spawnGotong(["devnet", "--home", home.root, "--port", String(port)]);
    await first.waitFor(/devnet running/);
    const deployment = readDeployment(home.deployment);
    const user = privateKeyToAccount(generatePrivateKey());
    await fundOnDevnet(deployment, user.address, { tokens: 123_456_789n });
    const clients = createClients({ rpcUrl: deployment.rpcUrl, chainId: deployment.chainId, account: user });
    const weights = `0x${"ab".repeat(32)}` as const;
    await writeAndWait(clients, { address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "register", args: ["kept", weights, weights, "", 500] });
    first.child.kill("SIGINT");
    expect(await first.exited).toBe(0);

    const second = spawnGotong(["devnet", "--home", home.root, "--port", String(port)]);
    await second.waitFor(/devnet running/);
    try {
      // The log line goes to stderr, the "running" line to stdout: two pipes, read in no fixed order.
      await second.waitFor(/resumed from saved state/);
      expect(second.stderr()).toMatch(/resumed from saved state/);
      expect(readDeployment(home.deployment).paymentChannels).toBe(deployment.paymentChannels);
      const balance = await clients.public.readContract({ address: deployment.token.address, abi: erc20Abi, functionName: "balanceOf", args: [user.address] });
      expect(balance).toBe(123_456_789n);
      const id = await clients.public.readContract({ address: deployment.modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "modelIdOfWeights", args: [weights] });
      expect(id).toBe(1n);
    } finally {
      second.child.kill("SIGINT");
      await second.exited;
    }
  });
});
