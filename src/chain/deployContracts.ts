import type { Address, Hex, TransactionReceipt } from "viem";
import { GotongError } from "../common/errors.ts";
import type { ChainClients } from "./createClients.ts";
import type { Deployment } from "./deployment.ts";
import { TestTokenArtifact, ModelRegistryArtifact, ProviderRegistryArtifact, PaymentChannelsArtifact } from "./contracts.generated.ts";
import { QuadraticFundingArtifact, AttestationRegistryArtifact } from "./contracts.generated.ts";
import { AgentWalletFactoryArtifact, AgentRegistryArtifact, AgentReputationArtifact } from "./contracts.generated.ts";
import { X402SplitterArtifact } from "./contracts.generated.ts";
import { DataPoolFactoryArtifact } from "./contracts.generated.ts";
import { DerivationCourtArtifact, ServingVerificationArtifact } from "./contracts.generated.ts";
import { deployFailedError } from "./errors.ts";
import { toChainError, writeAndWait } from "./writeAndWait.ts";

export type DeployOptions = {
  rpcUrl: string;
  /** Every endpoint of the chain when there are several (written to the deployment file). */
  rpcUrls?: string[];
  /**
   * The steward of the funding contract: the account that picks which QuadraticFunding round the
   * protocol fee feeds (a DAO or multisig on a real network). Protocol fees themselves are credited
   * to the QuadraticFunding contract deployed here, which becomes the deployment's `fundingPool`.
   * Kept under this name for callers that passed the fee recipient; `steward` takes precedence.
   * Default: the deployer.
   */
  fundingPool?: Address;
  /** The QuadraticFunding steward (see `fundingPool`). */
  steward?: Address;
  /** Protocol fee into the funding pool, basis points. Default 200 (2%). */
  protocolFeeBps?: number;
  /** Seconds a closing channel waits so the provider can redeem its latest voucher. Default 3600. */
  challengePeriod?: number;
  /** Minimum provider stake in token base units. Default 100 tokens. */
  minStake?: bigint;
  /** Seconds before unstaked tokens can be withdrawn. Default 7 days. */
  unstakeDelay?: number;
  /** An existing ERC-20 for payments; when absent a TestToken (gUSD, 6 decimals) is deployed. */
  token?: { address: Address; symbol: string; decimals: number };
  /** ServingVerification's terms (validators, report bond, vote periods, slash split); see {@link servingVerificationParams}. */
  verification?: Partial<ServingVerificationParams>;
  /** DerivationCourt's terms (bond, fee, vote periods); see {@link derivationCourtParams}. */
  court?: Partial<DerivationCourtParams>;
};

/** ServingVerification's constructor `Params`, field for field (amounts in token base units, periods in seconds). */
export type ServingVerificationParams = {
  minValidatorStake: bigint;
  validatorUnstakeDelay: bigint;
  reportBond: bigint;
  commitPeriod: bigint;
  revealPeriod: bigint;
  slashBps: number;
  reporterBps: number;
  validatorBps: number;
  validatorPenaltyBps: number;
  honestProviderBps: number;
};

/**
 * ServingVerification's default terms for a token of `decimals` decimals:
 * - a validator stakes as much as a provider must (`minStake`), and waits as long to unstake, so a
 *   validator's vote is backed by as much as the stake it can take away;
 * - a report bonds a tenth of that: enough that false reports against honest providers cost the
 *   reporter, little enough that a gateway risks it on a validator's signed "fraud";
 * - an hour to commit and an hour to reveal: a CPU validator re-runs one request in seconds, the
 *   hours leave room for a validator that was offline or behind a slow RPC;
 * - fraud takes all of the provider's stake (active and unbonding): 10% to the reporter, 20% shared
 *   by the validators of the quorum, 70% to quadratic funding;
 * - a validator against the quorum or silent loses 10% of its stake; a false report's bond goes
 *   half to the provider wrongly reported, half to the quorum.
 */
export function servingVerificationParams(options: { minStake: bigint; unstakeDelay: bigint; overrides?: Partial<ServingVerificationParams> }): ServingVerificationParams {
  return {
    minValidatorStake: options.minStake,
    validatorUnstakeDelay: options.unstakeDelay,
    reportBond: options.minStake / 10n,
    commitPeriod: 3600n,
    revealPeriod: 3600n,
    slashBps: 10_000,
    reporterBps: 1_000,
    validatorBps: 2_000,
    validatorPenaltyBps: 1_000,
    honestProviderBps: 5_000,
    ...options.overrides,
  };
}

/** DerivationCourt's constructor `Params`, field for field (amounts in token base units, periods in seconds). */
export type DerivationCourtParams = { bond: bigint; fee: bigint; commitPeriod: bigint; revealPeriod: bigint };

/**
 * DerivationCourt's default terms, in the validators' token:
 * - a claim bonds ServingVerification's report bond (a tenth of the provider stake): a groundless
 *   claim pays it to the accused model's owner;
 * - a fee of a hundredth of the stake, shared by the validators of the quorum, for running two
 *   models (minutes of CPU on small ones);
 * - the verification vote's hour to commit and hour to reveal.
 */
export function derivationCourtParams(options: { minStake: bigint; overrides?: Partial<DerivationCourtParams> }): DerivationCourtParams {
  return { bond: options.minStake / 10n, fee: options.minStake / 100n, commitPeriod: 3600n, revealPeriod: 3600n, ...options.overrides };
}

/** A contract as the build knows it: what {@link DeploySteps.deploy} sends. */
export type DeployableArtifact = { contractName: string; abi: readonly unknown[]; bytecode: Hex };

/** A call that wires deployed contracts together (`QuadraticFunding.setPaymentChannels`). */
export type WiringCall = { address: Address; abi: readonly unknown[]; functionName: string; args: readonly unknown[] };

/**
 * How each transaction of a deployment is sent. {@link deployContracts} fixes what is deployed and
 * how it is wired; the steps decide how: {@link directSteps} sends each one and waits (the devnet),
 * `resumableSteps` records each one in a progress file first, so a cut deploy continues.
 */
export type DeploySteps = {
  /** The block event scans start from (recorded by a resumable deploy, so a resumed one keeps it). */
  startBlock(): Promise<bigint>;
  /** Deploys `artifact` with constructor `args` and returns its address once mined. */
  deploy(artifact: DeployableArtifact, args: readonly unknown[]): Promise<Address>;
  /** Sends a wiring call and waits for it to be mined. */
  call(call: WiringCall): Promise<void>;
};

/** Steps that send each transaction at once and wait for it: the devnet's deployment. */
export function directSteps(clients: ChainClients): DeploySteps {
  return {
    startBlock: () => clients.public.getBlockNumber(),
    async deploy(artifact, args) {
      let receipt: TransactionReceipt;
      try {
        const hash = await clients.wallet.deployContract({ abi: artifact.abi as never, bytecode: artifact.bytecode, args: args as never });
        receipt = await clients.public.waitForTransactionReceipt({ hash });
      } catch (error) {
        throw deployErrorOf(clients, artifact, error);
      }
      return createdContract(artifact, receipt);
    },
    async call(call) {
      await writeAndWait(clients, call);
    },
  };
}

/**
 * Every failure names the contract: `gotong deploy` on a real network meets these (no gas, a
 * wrong RPC, a chain without Cancun), and a bare "transaction failed" says nothing to act on.
 */
export function deployErrorOf(clients: ChainClients, artifact: DeployableArtifact, error: unknown): unknown {
  const chainError = toChainError(error, `deploying ${artifact.contractName}`, clients.account.address, artifact.abi);
  return chainError instanceof GotongError ? chainError : deployFailedError(artifact.contractName, (error as Error).message, error);
}

/** The address a mined deployment created, or a deploy_failed error saying why there is none. */
export function createdContract(artifact: DeployableArtifact, receipt: TransactionReceipt): Address {
  if (receipt.status !== "success") throw deployFailedError(artifact.contractName, `transaction ${receipt.transactionHash} reverted`);
  if (!receipt.contractAddress) throw deployFailedError(artifact.contractName, `transaction ${receipt.transactionHash} created no contract`);
  return receipt.contractAddress;
}

/**
 * Deploys Gotong's contracts with `clients` as deployer and returns the deployment record.
 * `steps` sends the transactions (default {@link directSteps}); the order and wiring live only here.
 */
export async function deployContracts(clients: ChainClients, options: DeployOptions, steps: DeploySteps = directSteps(clients)): Promise<Deployment> {
  const deploy = (artifact: DeployableArtifact, args: readonly unknown[]) => steps.deploy(artifact, args);
  const startBlock = await steps.startBlock();
  const decimals = options.token?.decimals ?? 6;
  const token = options.token ?? {
    address: await deploy(TestTokenArtifact, ["Gotong Test USD", "gUSD", decimals]),
    symbol: "gUSD",
    decimals,
  };
  const protocolFeeBps = options.protocolFeeBps ?? 200;
  const challengePeriod = options.challengePeriod ?? 3600;
  const minStake = options.minStake ?? 100n * 10n ** BigInt(decimals);
  const unstakeDelay = BigInt(options.unstakeDelay ?? 7 * 24 * 3600);
  const modelRegistry = await deploy(ModelRegistryArtifact, []);
  const providerRegistry = await deploy(ProviderRegistryArtifact, [token.address, modelRegistry, minStake, unstakeDelay]);
  // QuadraticFunding first: PaymentChannels credits its protocol fee to it, and is wired back once.
  const steward = options.steward ?? options.fundingPool ?? clients.account.address;
  const quadraticFunding = await deploy(QuadraticFundingArtifact, [modelRegistry, steward]);
  const paymentChannels = await deploy(PaymentChannelsArtifact, [
    token.address,
    modelRegistry,
    providerRegistry,
    quadraticFunding,
    protocolFeeBps,
    BigInt(challengePeriod),
  ]);
  await steps.call({ address: quadraticFunding, abi: QuadraticFundingArtifact.abi, functionName: "setPaymentChannels", args: [paymentChannels] });
  // x402 payments split by PaymentChannels' own terms (token, registry, funding pool, fee), read from
  // it; wired into QuadraticFunding once, so the fee of an x402 payment is collected into funding
  // rounds with the fees of vouchers instead of waiting in the splitter.
  const x402Splitter = await deploy(X402SplitterArtifact, [paymentChannels]);
  await steps.call({ address: quadraticFunding, abi: QuadraticFundingArtifact.abi, functionName: "setX402Splitter", args: [x402Splitter] });
  const attestationRegistry = await deploy(AttestationRegistryArtifact, []);
  // Agents: wallets with a spending policy, ERC-8004 identities, and reputation that counts paid feedback
  // only (its fee goes to the steward, who feeds funding rounds). The payments it counts are its own
  // `payAgent` ones and the x402 ones the splitter settled (`paidBy`), so it is given the splitter.
  const agentWalletFactory = await deploy(AgentWalletFactoryArtifact, []);
  const agentRegistry = await deploy(AgentRegistryArtifact, []);
  const agentReputation = await deploy(AgentReputationArtifact, [token.address, agentRegistry, steward, protocolFeeBps, x402Splitter]);
  // Datasets: ModelRegistry deploys its DatasetRegistry in its constructor (so nobody can point it at
  // another), read back here; pools of many contributors are created through the factory.
  const datasetRegistry = (await clients.public.readContract({ address: modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "datasets" })) as Address;
  const dataPoolFactory = await deploy(DataPoolFactoryArtifact, [paymentChannels]);
  // Verified serving: reads PaymentChannels' receipt domain and funding pool, slashes through the
  // registry (whose one-time verifier it becomes), and its funding share of each slash is collected
  // by QuadraticFunding with the protocol fees (wired once, as X402Splitter is). Appended last so a
  // deploy cut before it resumes with every earlier step unchanged.
  const verificationParams = servingVerificationParams({ minStake, unstakeDelay, overrides: options.verification });
  const servingVerification = await deploy(ServingVerificationArtifact, [paymentChannels, providerRegistry, verificationParams]);
  await steps.call({ address: providerRegistry, abi: ProviderRegistryArtifact.abi, functionName: "setVerifier", args: [servingVerification] });
  await steps.call({ address: quadraticFunding, abi: QuadraticFundingArtifact.abi, functionName: "setServingVerification", args: [servingVerification] });
  // Undeclared derivatives: the court draws ServingVerification's validators and is the one
  // contract whose verdicts may add a parent to a registered model (wired once, as the verifier is).
  const courtParams = derivationCourtParams({ minStake, overrides: options.court });
  const derivationCourt = await deploy(DerivationCourtArtifact, [modelRegistry, servingVerification, courtParams]);
  await steps.call({ address: modelRegistry, abi: ModelRegistryArtifact.abi, functionName: "setDerivationCourt", args: [derivationCourt] });
  return {
    chainId: clients.chain.id,
    rpcUrl: options.rpcUrl,
    ...(options.rpcUrls ? { rpcUrls: options.rpcUrls } : {}),
    startBlock: startBlock.toString(),
    token,
    modelRegistry,
    providerRegistry,
    paymentChannels,
    fundingPool: quadraticFunding,
    quadraticFunding,
    attestationRegistry,
    agentWalletFactory,
    agentRegistry,
    agentReputation,
    x402Splitter,
    datasetRegistry,
    dataPoolFactory,
    servingVerification,
    derivationCourt,
    protocolFeeBps,
    challengePeriod,
    minStake: minStake.toString(),
  };
}
