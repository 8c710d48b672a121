import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Native inference and Anvil processes are heavy on a 2-core machine: run files one at a time.
    fileParallelism: false,
    pool: "forks",
  },
});
