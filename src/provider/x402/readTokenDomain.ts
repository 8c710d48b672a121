import { parseAbi, type Address, type PublicClient } from "viem";
import { GotongError } from "../../common/errors.ts";

/** The EIP-712 domain name and version of an EIP-3009 token: what x402 puts in `extra`. */
export type TokenDomain = { name: string; version: string };

const abi = parseAbi([
  "function eip712Domain() view returns (bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)",
  "function name() view returns (string)",
  "function version() view returns (string)",
]);

/**
 * Reads the EIP-712 domain an EIP-3009 token signs under: ERC-5267's `eip712Domain()` where the
 * token has it (Gotong's TestToken), else `name()` and `version()` as USDC exposes them.
 *
 * @example const { name, version } = await readTokenDomain(client, deployment.token.address);
 */
export async function readTokenDomain(client: PublicClient, token: Address): Promise<TokenDomain> {
  try {
    const [, name, version] = await client.readContract({ address: token, abi, functionName: "eip712Domain" });
    return { name, version };
  } catch {
    try {
      const [name, version] = await Promise.all([
        client.readContract({ address: token, abi, functionName: "name" }),
        client.readContract({ address: token, abi, functionName: "version" }),
      ]);
      return { name, version };
    } catch (cause) {
      throw new GotongError(`The payment token ${token} does not say its EIP-712 domain (no eip712Domain(), or no name() and version())`, {
        code: "x402_unavailable",
        hint: "x402 `exact` payments need an EIP-3009 token such as USDC or Gotong's TestToken.",
        cause,
      });
    }
  }
}
