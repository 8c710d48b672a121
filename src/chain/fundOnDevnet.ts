import { parseEther, type Address, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createClients } from "./createClients.ts";
import type { Deployment } from "./deployment.ts";
import { TestTokenArtifact } from "./contracts.generated.ts";
import { writeAndWait } from "./writeAndWait.ts";
import { DEVNET_DEPLOYER_KEY } from "./startDevnet.ts";
import { GotongError } from "../common/errors.ts";

/** What `fundOnDevnet` gave: test ether (wei) and test tokens (base units) actually added, 0n for none. */
export type DevnetFunding = { ether: bigint; tokens: bigint };

/**
 * Gives an account test ether (for gas) and test tokens on the local devnet. By default it tops the
 * account up to at least the amounts asked (100 ether when none is given), so callers can run it
 * on every start without minting again; with `add: true` it adds the amounts on top of what the
 * account holds, as a faucet does (no ether unless asked). Returns what it actually added. Refuses
 * on any other chain: real networks have no faucet.
 *
 * @example const { tokens } = await fundOnDevnet(deployment, "0x…", { tokens: 1_000_000n }, { add: true });
 */
export async function fundOnDevnet(deployment: Deployment, address: Address, amounts: { ether?: bigint; tokens?: bigint }, options: { add?: boolean } = {}): Promise<DevnetFunding> {
  if (deployment.chainId !== 31337) {
    throw new GotongError(`Cannot mint test funds on chain ${deployment.chainId}`, { code: "not_devnet", hint: "Real networks have no faucet: send native coin and tokens to the account yourself." });
  }
  const clients = createClients({ rpcUrl: deployment.rpcUrl, rpcUrls: deployment.rpcUrls, chainId: deployment.chainId, account: privateKeyToAccount(DEVNET_DEPLOYER_KEY) });
  const ether = amounts.ether ?? (options.add ? 0n : parseEther("100"));
  const given: DevnetFunding = { ether: 0n, tokens: 0n };
  let balance: bigint;
  try {
    balance = await clients.public.getBalance({ address });
  } catch (error) {
    throw new GotongError(`Cannot reach the devnet at ${deployment.rpcUrl}`, { code: "chain_unreachable", status: 503, retryable: true, hint: "Start it with `gotong devnet` (or `gotong up`) first.", cause: error });
  }
  const targetEther = options.add ? balance + ether : ether;
  if (balance < targetEther) {
    await (clients.public as PublicClient).request({ method: "anvil_setBalance" as never, params: [address, `0x${targetEther.toString(16)}`] as never });
    given.ether = targetEther - balance;
  }
  if (amounts.tokens) {
    const held = options.add ? 0n : ((await clients.public.readContract({ address: deployment.token.address, abi: TestTokenArtifact.abi, functionName: "balanceOf", args: [address] })) as bigint);
    if (held < amounts.tokens) {
      await writeAndWait(clients, { address: deployment.token.address, abi: TestTokenArtifact.abi, functionName: "mint", args: [address, amounts.tokens - held] });
      given.tokens = amounts.tokens - held;
    }
  }
  return given;
}
