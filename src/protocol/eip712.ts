import { keccak256, toBytes, type Hex } from "viem";

/** One field of an EIP-712 struct, as viem's `types` objects write it. */
export type TypedField = { readonly name: string; readonly type: string };

/** EIP-712 struct definitions by name (viem's `types` shape): the one place a signed format is written down. */
export type TypedStructs = { readonly [struct: string]: readonly TypedField[] };

/**
 * The EIP-712 `encodeType` of `primaryType`: its name and fields, then every struct it references
 * (directly or not), sorted by name. This is the string a contract hashes into its `*_TYPEHASH`, so
 * deriving it from the same `types` object that signs keeps the two from drifting apart.
 *
 * @example encodeType(voucherTypes, "Voucher") // "Voucher(bytes32 channelId,uint64 epoch,uint256 cumulativeAmount)"
 */
export function encodeType<T extends TypedStructs>(types: T, primaryType: keyof T & string): string {
  const referenced = new Set<string>();
  const visit = (name: string) => {
    const fields = types[name];
    if (!fields) throw new TypeError(`EIP-712 type "${name}" is not defined in the types given`);
    for (const field of fields) {
      const base = field.type.replace(/(\[\d*\])+$/, "");
      if (types[base] && base !== primaryType && !referenced.has(base)) {
        referenced.add(base);
        visit(base);
      }
    }
  };
  visit(primaryType);
  const struct = (name: string) => `${name}(${types[name]!.map((f) => `${f.type} ${f.name}`).join(",")})`;
  return [primaryType, ...[...referenced].sort()].map(struct).join("");
}

/**
 * The EIP-712 type hash of `primaryType`: keccak256 of its {@link encodeType}, what Solidity declares
 * as `keccak256("Voucher(…)")`.
 */
export function typeHashOf<T extends TypedStructs>(types: T, primaryType: keyof T & string): Hex {
  return keccak256(toBytes(encodeType(types, primaryType)));
}
