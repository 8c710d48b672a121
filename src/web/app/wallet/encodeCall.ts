import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, utf8 } from "../../crypto/bytes.ts";

/** An argument of a static ABI type: an address, a bytes32 (hex) or a uint256 (bigint). */
export type StaticArg = { type: "address"; value: string } | { type: "bytes32"; value: string } | { type: "uint256"; value: bigint };

/**
 * ABI-encodes a call of a function whose arguments are all static words (every call the page
 * makes): the 4-byte selector of `signature`, then one 32-byte word per argument.
 *
 * @example encodeCall("startClose(bytes32)", [{ type: "bytes32", value: channelId }])
 */
export function encodeCall(signature: string, args: StaticArg[]): `0x${string}` {
  let data = bytesToHex(keccak_256(utf8(signature)).subarray(0, 4)).slice(2);
  for (const arg of args) {
    if (arg.type === "uint256") {
      if (arg.value < 0n || arg.value >= 2n ** 256n) throw new RangeError("uint256 out of range");
      data += arg.value.toString(16).padStart(64, "0");
    } else {
      const hex = arg.value.toLowerCase().replace(/^0x/, "");
      const length = arg.type === "address" ? 40 : 64;
      if (!new RegExp(`^[0-9a-f]{${length}}$`).test(hex)) throw new TypeError(`not a ${arg.type}: ${arg.value}`);
      data += hex.padStart(64, "0");
    }
  }
  return `0x${data}`;
}
