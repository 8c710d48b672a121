import type { Address } from "viem";
import type { Deployment } from "../chain/deployment.ts";
import { datasetError } from "./errors.ts";

/**
 * The deployment's DatasetRegistry, or a `dataset_registry_missing` error: deployments made
 * before datasets have none.
 *
 * @example const registry = datasetRegistryOf(deployment);
 */
export function datasetRegistryOf(deployment: Deployment): Address {
  const address = (deployment as Deployment & { datasetRegistry?: Address }).datasetRegistry;
  if (address === undefined) {
    throw datasetError("dataset_registry_missing", `The deployment on chain ${deployment.chainId} has no DatasetRegistry.`, {
      status: 400,
      hint: "It was deployed before datasets existed: redeploy with `gotong deploy` (or restart `gotong devnet` on a fresh data folder) to get one.",
    });
  }
  return address;
}

/**
 * The deployment's DataPoolFactory, which creates the pools that own datasets of many owners, or
 * `dataset_registry_missing`.
 *
 * @example const factory = dataPoolFactoryOf(deployment);
 */
export function dataPoolFactoryOf(deployment: Deployment): Address {
  const address = (deployment as Deployment & { dataPoolFactory?: Address }).dataPoolFactory;
  if (address === undefined) {
    throw datasetError("dataset_registry_missing", `The deployment on chain ${deployment.chainId} has no DataPoolFactory, so a dataset of several owners cannot be pooled.`, {
      status: 400,
      hint: "It was deployed before data pools existed: redeploy with `gotong deploy`, or publish with a single owner.",
    });
  }
  return address;
}
