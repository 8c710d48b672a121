import type { BrowserContext } from "playwright-core";
import type { Address, Hex } from "viem";
import type { ChainClients } from "../../../src/chain/createClients.ts";

/** A transaction the injected wallet sent for the page. */
export type SentTransaction = { to: Address; data: Hex; hash: Hex };

/**
 * Gives every page of `context` a browser wallet (`window.ethereum`, EIP-1193) that signs with
 * `clients`' key in the test process, as a wallet extension holding that key would: the page's
 * "Connect wallet" uses it. Every transaction it sends is recorded, so a test can check that a
 * cancelled confirmation sent nothing.
 *
 * @example const wallet = await injectKeyWallet(context, net.creator); … expect(wallet.sent).toEqual([]);
 */
export async function injectKeyWallet(context: BrowserContext, clients: ChainClients): Promise<{ address: Address; sent: SentTransaction[]; requests: string[] }> {
  const address = clients.account.address;
  const sent: SentTransaction[] = [];
  const requests: string[] = [];
  await context.exposeBinding("__gotongTestWallet", async (_source, method: string, params: unknown[]) => {
    requests.push(method);
    switch (method) {
      case "eth_requestAccounts":
      case "eth_accounts":
        return { result: [address] };
      case "eth_chainId":
        return { result: `0x${clients.chain.id.toString(16)}` };
      case "eth_sendTransaction": {
        const tx = (params[0] ?? {}) as { from?: string; to?: Address; data?: Hex };
        if (tx.from && tx.from.toLowerCase() !== address.toLowerCase()) return { error: { code: 4100, message: `This wallet holds only ${address}` } };
        try {
          const hash = await clients.wallet.sendTransaction({ account: clients.account, chain: clients.chain, to: tx.to!, data: tx.data });
          sent.push({ to: tx.to!, data: tx.data!, hash });
          return { result: hash };
        } catch (error) {
          return { error: { code: -32603, message: (error as Error).message.split("\n")[0] } };
        }
      }
      default:
        return { error: { code: 4200, message: `The test wallet does not support ${method}` } };
    }
  });
  await context.addInitScript(`window.ethereum = {
    request: async ({ method, params }) => {
      const answer = await window.__gotongTestWallet(method, params ?? []);
      if (answer.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
      return answer.result;
    },
  };`);
  return { address, sent, requests };
}
