/**
 * The bounds `ModelRegistry.registerDerivative` enforces (its `MAX_DEPTH` and `MAX_STACK_BPS`),
 * checked here too so that a manifest the registry would refuse is refused before it is signed.
 */
export const LINEAGE_LIMITS = {
  /** Longest chain of ancestors a model may have: bounds the gas of flowing royalties up the tree. */
  maxDepth: 5,
  /** Most of a model's royalty its parents and datasets together may take, so the model keeps some. */
  maxStackBps: 9000,
  /** Parents one manifest may name (a merge of more is not a thing people publish). */
  maxParents: 16,
  /** Datasets one manifest may name. */
  maxDatasets: 64,
} as const;
