import { resolve } from "node:path";

/** The repository's root: where `src/main.ts`, `keycloak/` and `bench/results/` are found from. */
export const ROOT = resolve(import.meta.dirname, "..");
