import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "harness/**/*.test.ts", "test/**/*.test.ts", "packages/*/src/**/*.test.ts"],
    // Real PostgreSQL, Redis and Keycloak on a 2-core machine: generous hook timeouts,
    // but no test asserts a duration.
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: "forks",
    maxWorkers: 2,
    globalSetup: ["test/support/global-setup.ts"],
    reporters: ["default"],
    allowOnly: false,
  },
});
