import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { GATEHOUSE_NODE_FLAGS } from "../../harness/gatehouse-process.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const read = (path: string) => readFileSync(resolve(ROOT, path), "utf8");

/** Every way Gatehouse is started runs Node with the same flags, and the benchmarks measure those. */
describe("Node flags", () => {
  const flags = GATEHOUSE_NODE_FLAGS.join(" ");

  it("npm start (scripts/start.sh) and npm run serve use them", () => {
    expect(read("scripts/start.sh")).toContain(`node ${flags} src/main.ts`);
    expect(JSON.parse(read("package.json")).scripts.serve).toBe(`node ${flags} src/main.ts`);
  });

  it("the container image uses them", () => {
    const command = ["node", ...GATEHOUSE_NODE_FLAGS, "src/main.ts"].map((part) => `"${part}"`).join(", ");
    expect(read("Dockerfile")).toContain(`CMD [${command}]`);
  });
});
