import { GotongError } from "../common/errors.ts";

export { fundingErrorCodes, type FundingErrorCode } from "../protocol/errorCodes.ts";

/** The deployment has no QuadraticFunding contract, so there are no rounds to read or donate to. */
export function fundingNotDeployedError(): GotongError {
  return new GotongError("This deployment has no funding rounds (QuadraticFunding)", {
    code: "funding_not_deployed",
    hint: "Start a devnet whose deployment includes quadraticFunding.",
  });
}
