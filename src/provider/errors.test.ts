import { HttpRequestError, encodeErrorResult, ContractFunctionExecutionError, ContractFunctionRevertedError } from "viem";
import { describe, expect, it } from "vitest";
import { PaymentChannelsArtifact } from "../chain/contracts.generated.ts";
import { GotongError } from "../common/errors.ts";
import { redeemFailedError } from "./errors.ts";

const me = "0x00000000000000000000000000000000000000a1";

describe("redeemFailedError", () => {
  it("gives a failure that is not the chain's the code redeem_failed, retryable, keeping the cause", () => {
    const cause = new Error("SQLITE_BUSY: database is locked\nat ...");
    const error = redeemFailedError(cause, me);
    expect(error).toBeInstanceOf(GotongError);
    expect([error.code, error.status, error.retryable, error.cause]).toEqual(["redeem_failed", 502, true, cause]);
    expect(error.message).toBe("Redeeming vouchers failed: SQLITE_BUSY: database is locked");
    expect(error.hint).toMatch(/vouchers stay stored/);
  });

  it("keeps the chain's own code for a chain failure: an RPC that cannot be reached", () => {
    const error = redeemFailedError(new HttpRequestError({ url: "http://127.0.0.1:1", details: "fetch failed" }), me);
    expect([error.code, error.retryable]).toEqual(["chain_unreachable", true]);
  });

  it("names a contract refusal by its error and values", () => {
    const data = encodeErrorResult({ abi: PaymentChannelsArtifact.abi, errorName: "ZeroAmount" });
    const viemError = new ContractFunctionExecutionError(new ContractFunctionRevertedError({ abi: [], data, functionName: "redeemBatch" }), { abi: [], functionName: "redeemBatch", args: [] });
    const error = redeemFailedError(viemError, me);
    expect(error.code).toBe("contract_revert");
    expect(error.message).toBe("redeeming vouchers was refused by PaymentChannels: ZeroAmount()");
  });

  it("passes a GotongError through as it is", () => {
    const given = new GotongError("Channel 0x01 is closing", { code: "channel_closing" });
    expect(redeemFailedError(given, me)).toBe(given);
  });
});
