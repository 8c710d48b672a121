import { type Address, type Hex, type LocalAccount, recoverTypedDataAddress } from "viem";

/**
 * What a validator signs when it answers `POST /gotong/validate`: the evidence (the receipt's EIP-712
 * digest in PaymentChannels' domain, which is also the case id a report of it would open, whether
 * or not a case exists) and its verdict. A gateway keeps it as proof of what the validator said
 * before it bonded a report.
 */
export type Validation = { evidence: Hex; fraud: boolean; reason: string };

/** The EIP-712 definition of a validation (domain: validationDomain). */
export const validationTypes = {
  Validation: [
    { name: "evidence", type: "bytes32" },
    { name: "fraud", type: "bool" },
    { name: "reason", type: "string" },
  ],
} as const;

/**
 * The EIP-712 domain of validations: one chain and one ServingVerification deployment, so a
 * signature cannot be replayed against another network.
 */
export function validationDomain(chainId: number, servingVerification: Address) {
  return { name: "Gotong Validator", version: "1", chainId, verifyingContract: servingVerification } as const;
}

/** Signs a validation with the validator's key. */
export function signValidation(account: LocalAccount, domain: ReturnType<typeof validationDomain>, validation: Validation): Promise<Hex> {
  return account.signTypedData({ domain, types: validationTypes, primaryType: "Validation", message: validation });
}

/**
 * Recovers who signed a validation: a gateway checks it is the validator it asked.
 *
 * @example const signer = await recoverValidationSigner(validationDomain(31337, sv), { evidence, fraud, reason }, signature);
 */
export function recoverValidationSigner(domain: ReturnType<typeof validationDomain>, validation: Validation, signature: Hex): Promise<Address> {
  return recoverTypedDataAddress({ domain, types: validationTypes, primaryType: "Validation", message: validation, signature });
}
