import { describe, expect, it } from "vitest";
import { parseRedeemGas } from "./parseRedeemGas.ts";

describe("parseRedeemGas", () => {
  it("reads the native price in whole tokens of the payment token's decimals, the share in basis points and the gas cap", () => {
    expect(parseRedeemGas({ "native-price": "3000", "max-gas-share": "0.25", "max-gas-per-tx": "5000000" }, 6)).toEqual({ nativePrice: 3_000_000_000n, maxGasShareBps: 2500, maxGasPerTx: 5_000_000n });
    expect(parseRedeemGas({ "native-price": "2500.5", "max-gas-share": "1" }, 18)).toEqual({ nativePrice: 2_500_500_000_000_000_000_000n, maxGasShareBps: 10_000 });
    expect(parseRedeemGas({}, 6)).toEqual({});
  });

  it("refuses each bad value naming its flag", () => {
    for (const [flag, value] of [
      ["native-price", "-1"],
      ["native-price", "abc"],
      ["native-price", "0"],
      ["native-price", "0.0000001"], // below one base unit of a 6-decimal token
      ["max-gas-share", "0"],
      ["max-gas-share", "1.5"],
      ["max-gas-share", "25%"],
      ["max-gas-per-tx", "1e6"],
      ["max-gas-per-tx", "21000"],
    ] as const) {
      expect(() => parseRedeemGas({ [flag]: value }, 6), `${flag} ${value}`).toThrow(`--${flag}`);
    }
  });
});
