import { GotongError } from "../common/errors.ts";
import { HEADERS, PROTOCOL_VERSION } from "./wire.ts";

/** The header every request to a provider and every provider answer carries: this side's protocol version. */
export const PROTOCOL_VERSION_HEADERS: Readonly<Record<string, string>> = Object.freeze({ [HEADERS.protocolVersion]: String(PROTOCOL_VERSION) });

/** Which side checks and which sent the message, as the error names them ("provider", "gateway"). */
export type ProtocolSides = { local: string; remote: string };

/**
 * Refuses a message written for another version of the wire protocol: throws a 400 GotongError
 * `protocol_version_mismatch` naming both versions and which side to upgrade. A message without
 * the header is accepted: plain clients (curl, an OpenAI SDK) do not send it, and what they send
 * does not depend on the version.
 *
 * @param value The `x-gotong-protocol` header as received (undefined or null when absent).
 * @example checkProtocolVersion(req.headers[HEADERS.protocolVersion], { local: "provider", remote: "gateway" })
 */
export function checkProtocolVersion(value: string | readonly string[] | null | undefined, sides: ProtocolSides): void {
  if (value === undefined || value === null) return;
  const text = (typeof value === "string" ? value : value.join(", ")).trim();
  if (text === String(PROTOCOL_VERSION)) return;
  const theirs = /^\d{1,9}$/.test(text) ? Number(text) : undefined;
  if (theirs === undefined) {
    throw new GotongError(`The ${sides.remote} sent ${HEADERS.protocolVersion}: ${JSON.stringify(text.slice(0, 40))}, which is not a protocol version; this ${sides.local} speaks Gotong protocol version ${PROTOCOL_VERSION}`, {
      code: "protocol_version_mismatch",
      status: 400,
      hint: `Send ${HEADERS.protocolVersion}: ${PROTOCOL_VERSION}, or leave the header out.`,
    });
  }
  const older = theirs < PROTOCOL_VERSION ? sides.remote : sides.local;
  throw new GotongError(`The ${sides.remote} speaks Gotong protocol version ${theirs} and this ${sides.local} speaks version ${PROTOCOL_VERSION}: they would misread each other's vouchers, receipts or streams`, {
    code: "protocol_version_mismatch",
    status: 400,
    hint: `Upgrade the ${older}, the older side, to the Gotong release that speaks version ${Math.max(theirs, PROTOCOL_VERSION)}.`,
  });
}
