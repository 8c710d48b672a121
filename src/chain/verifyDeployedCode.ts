import type { Address, Chain, Hex, PublicClient, Transport } from "viem";
import { GotongError } from "../common/errors.ts";
import {
  AgentRegistryArtifact,
  AgentReputationArtifact,
  AgentWalletFactoryArtifact,
  AttestationRegistryArtifact,
  DataPoolFactoryArtifact,
  DatasetRegistryArtifact,
  DerivationCourtArtifact,
  ModelRegistryArtifact,
  PaymentChannelsArtifact,
  ProviderRegistryArtifact,
  QuadraticFundingArtifact,
  ServingVerificationArtifact,
  TestTokenArtifact,
  X402SplitterArtifact,
} from "./contracts.generated.ts";
import type { Deployment } from "./deployment.ts";

/** A build artifact's runtime code and the byte ranges its constructor fills in. */
export type RuntimeArtifact = { contractName: string; deployedBytecode: Hex; immutables: readonly { start: number; length: number }[] };

/** One contract whose code matched the build. */
export type VerifiedContract = { contract: string; address: Address; codeSize: number };

/** The deployment's contracts, with the build artifact each must run. */
export function deployedArtifacts(deployment: Deployment, options: { testToken: boolean }): { address: Address; artifact: RuntimeArtifact }[] {
  const entries: [Address | undefined, RuntimeArtifact][] = [
    [options.testToken ? deployment.token.address : undefined, TestTokenArtifact],
    [deployment.modelRegistry, ModelRegistryArtifact],
    [deployment.providerRegistry, ProviderRegistryArtifact],
    [deployment.quadraticFunding, QuadraticFundingArtifact],
    [deployment.paymentChannels, PaymentChannelsArtifact],
    [deployment.x402Splitter, X402SplitterArtifact],
    [deployment.attestationRegistry, AttestationRegistryArtifact],
    [deployment.agentWalletFactory, AgentWalletFactoryArtifact],
    [deployment.agentRegistry, AgentRegistryArtifact],
    [deployment.agentReputation, AgentReputationArtifact],
    [deployment.datasetRegistry, DatasetRegistryArtifact],
    [deployment.dataPoolFactory, DataPoolFactoryArtifact],
    [deployment.servingVerification, ServingVerificationArtifact],
    [deployment.derivationCourt, DerivationCourtArtifact],
  ];
  return entries.filter((e): e is [Address, RuntimeArtifact] => e[0] !== undefined).map(([address, artifact]) => ({ address, artifact }));
}

/**
 * Checks that the code at each of the deployment's addresses (eth_getCode) is this build's runtime
 * code. Immutables are the only bytes a constructor writes into runtime code (addresses, fees,
 * EIP-712 domain caches), so they are masked on both sides; every other byte, the metadata hash
 * of the sources included, must be equal.
 */
export async function verifyDeployedCode(client: PublicClient<Transport, Chain>, deployment: Deployment, options: { testToken: boolean }): Promise<VerifiedContract[]> {
  const verified: VerifiedContract[] = [];
  for (const { address, artifact } of deployedArtifacts(deployment, options)) {
    const code = (await client.getCode({ address })) ?? "0x";
    const detail = codeMismatch(code, artifact);
    if (detail) {
      throw new GotongError(`The code at ${address} is not this build's ${artifact.contractName}: ${detail}`, {
        code: "deploy_code_mismatch",
        hint: "The RPC may serve another chain, or the contract was deployed from other sources. Deploy again with another --out.",
      });
    }
    verified.push({ contract: artifact.contractName, address, codeSize: (code.length - 2) / 2 });
  }
  return verified;
}

/** Why `code` is not `artifact`'s runtime code with its immutables filled in, or undefined when it is. */
export function codeMismatch(code: Hex, artifact: RuntimeArtifact): string | undefined {
  const expected = artifact.deployedBytecode.slice(2).toLowerCase();
  const actual = code.slice(2).toLowerCase();
  if (actual.length === 0) return "no contract there";
  if (actual.length !== expected.length) return `${actual.length / 2} bytes of code, the build has ${expected.length / 2}`;
  const mask = (hex: string) => {
    let out = hex;
    for (const { start, length } of artifact.immutables) out = out.slice(0, start * 2) + "00".repeat(length) + out.slice((start + length) * 2);
    return out;
  };
  const a = mask(actual);
  const b = mask(expected);
  if (a === b) return undefined;
  let i = 0;
  while (a[i] === b[i]) i++;
  return `the code differs from byte ${Math.floor(i / 2)} on`;
}
