/**
 * The browser reports sealed-traffic failures with the very errors Node does: `src/privacy/errors.ts`
 * depends only on the shared error type, so the page bundles it as it is.
 */
export { envelopeInvalidError, hpkePublicKeyInvalidError } from "../../privacy/errors.ts";
