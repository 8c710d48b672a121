import { describe, expect, it } from "vitest";
import { GotongError } from "../common/errors.ts";
import { checkProtocolVersion, PROTOCOL_VERSION_HEADERS } from "./protocolVersion.ts";
import { HEADERS, PROTOCOL_VERSION } from "./wire.ts";

const sides = { local: "provider", remote: "gateway" };

function refusal(value: string | string[]): GotongError {
  try {
    checkProtocolVersion(value, sides);
  } catch (error) {
    expect(error).toBeInstanceOf(GotongError);
    return error as GotongError;
  }
  throw new Error(`${JSON.stringify(value)} was accepted`);
}

describe("checkProtocolVersion", () => {
  it("accepts its own version, and a message without the header (a plain client)", () => {
    expect(() => checkProtocolVersion(String(PROTOCOL_VERSION), sides)).not.toThrow();
    expect(() => checkProtocolVersion(` ${PROTOCOL_VERSION} `, sides)).not.toThrow();
    expect(() => checkProtocolVersion(undefined, sides)).not.toThrow();
    expect(() => checkProtocolVersion(null, sides)).not.toThrow();
    expect(PROTOCOL_VERSION_HEADERS).toEqual({ [HEADERS.protocolVersion]: String(PROTOCOL_VERSION) });
  });

  it("refuses a newer remote with 400, naming both versions and that this side is to be upgraded", () => {
    const error = refusal(String(PROTOCOL_VERSION + 1));
    expect({ code: error.code, status: error.status }).toEqual({ code: "protocol_version_mismatch", status: 400 });
    expect(error.message).toContain(`The gateway speaks Gotong protocol version ${PROTOCOL_VERSION + 1} and this provider speaks version ${PROTOCOL_VERSION}`);
    expect(error.hint).toBe(`Upgrade the provider, the older side, to the Gotong release that speaks version ${PROTOCOL_VERSION + 1}.`);
  });

  it("refuses an older remote, saying to upgrade it", () => {
    const error = refusal(String(PROTOCOL_VERSION - 1));
    expect(error.message).toContain(`version ${PROTOCOL_VERSION - 1} and this provider speaks version ${PROTOCOL_VERSION}`);
    expect(error.hint).toBe(`Upgrade the gateway, the older side, to the Gotong release that speaks version ${PROTOCOL_VERSION}.`);
  });

  it("refuses a value that is not a version, and a header sent twice with different values", () => {
    for (const value of ["", "v1", "1.0", "-1", "99999999999", `${PROTOCOL_VERSION}, ${PROTOCOL_VERSION + 1}`]) {
      const error = refusal(value);
      expect(error.code).toBe("protocol_version_mismatch");
      expect(error.message).toContain(`this provider speaks Gotong protocol version ${PROTOCOL_VERSION}`);
    }
    expect(refusal([String(PROTOCOL_VERSION), String(PROTOCOL_VERSION + 1)]).message).toContain("is not a protocol version");
  });
});
