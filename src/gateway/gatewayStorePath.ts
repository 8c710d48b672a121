import { join } from "node:path";
import type { Address } from "viem";
import type { GotongHome } from "../common/home.ts";

/** Where the gateway paying with `key`'s account (or, for an agent, with its agent key) keeps its store. */
export function gatewayStorePath(home: GotongHome, key: Address): string {
  return join(home.gateway, `gateway-${key.toLowerCase()}.db`);
}
