import { describe, expect, it } from "vitest";
import { isGotongError } from "../common/errors.ts";
import { checkRepublishTerms } from "./checkRepublishTerms.ts";

const registered = { modelId: 3n, name: "tiny", royaltyBps: 1000, license: "MIT" };

describe("checkRepublishTerms", () => {
  it("accepts options left out or equal to the registered terms", () => {
    expect(() => checkRepublishTerms({}, registered)).not.toThrow();
    expect(() => checkRepublishTerms({ name: "tiny", royaltyBps: 1000, license: "MIT" }, registered)).not.toThrow();
    // A licence that cannot be checked (manifest not kept here) is not invented as a difference.
    expect(() => checkRepublishTerms({ license: "Apache-2.0" }, { ...registered, license: undefined })).not.toThrow();
  });

  it("refuses every differing term at once, naming registered and asked values", () => {
    let error: unknown;
    try {
      checkRepublishTerms({ name: "big", royaltyBps: 0, license: "Apache-2.0" }, registered);
    } catch (e) {
      error = e;
    }
    expect(isGotongError(error, "model_terms_differ")).toBe(true);
    expect((error as Error).message).toBe('These weights are already registered as model #3 with name "tiny" (you asked "big"), licence MIT (you asked Apache-2.0), royalty 1000 bps (you asked 0); nothing was changed');
  });
});
