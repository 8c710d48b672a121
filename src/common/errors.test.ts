import { describe, expect, it } from "vitest";
import { GotongError, isGotongError } from "./errors.ts";

describe("GotongError codes are checked by the compiler", () => {
  it("takes a code from the list and keeps its fields", () => {
    const cause = new Error("low-level");
    const error = new GotongError("The voucher's signature is wrong", { code: "voucher_signature_invalid", status: 401, hint: "Sign again.", cause });
    expect(error.code).toBe("voucher_signature_invalid");
    expect([error.status, error.hint, error.retryable, error.cause]).toEqual([401, "Sign again.", false, cause]);
    expect(isGotongError(error, "voucher_signature_invalid")).toBe(true);
    expect(isGotongError(error, "voucher_missing")).toBe(false);
    expect(isGotongError(new Error("plain"))).toBe(false);
  });

  it("refuses a code that is not in src/protocol/errorCodes.ts (tsc fails if these ever compile)", () => {
    // @ts-expect-error a typo in a code is a type error
    const typo = new GotongError("x", { code: "voucher_signature_invlaid" });
    // @ts-expect-error and so is one in a check
    expect(isGotongError(typo, "voucher_signatre_invalid")).toBe(false);
    // The code itself still travels as given: the check is the compiler's, at no cost at run time.
    expect(typo.code).toBe("voucher_signature_invlaid");
  });

  it("accepts the web page's status fallback, http_<status>", () => {
    expect(new GotongError("The gateway answered 502.", { code: "http_502", status: 502 }).code).toBe("http_502");
  });
});
