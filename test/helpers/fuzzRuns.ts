/**
 * How many inputs a fuzz property runs: `defaultRuns`, or `GOTONG_FUZZ_RUNS` when set, so that CI
 * stays quick while a longer hunt is one variable away (`GOTONG_FUZZ_RUNS=200000 npx vitest run fuzz`).
 * `GOTONG_FUZZ_SEED` replaces the fixed seed, to explore new inputs instead of replaying the same ones.
 */
export function fuzzRuns(defaultRuns: number, defaultSeed: number): { numRuns: number; seed: number } {
  const runs = process.env.GOTONG_FUZZ_RUNS;
  const seed = process.env.GOTONG_FUZZ_SEED;
  const parsedRuns = runs !== undefined && /^\d+$/.test(runs) ? Number(runs) : undefined;
  const parsedSeed = seed !== undefined && /^-?\d+$/.test(seed) ? Number(seed) ^ defaultSeed : undefined;
  return { numRuns: parsedRuns ?? defaultRuns, seed: parsedSeed ?? defaultSeed };
}
