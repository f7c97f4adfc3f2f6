import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { helpMarkdown } from "../../packages/client/src/cli/help-markdown.ts";

const README = resolve(import.meta.dirname, "../../README.md");
const START =
  "<!-- cli-help:start (generated: UPDATE_README=1 npx vitest run test/cli/readme-help.test.ts) -->\n";
const END = "<!-- cli-help:end -->";

describe("the README's CLI reference", () => {
  it("is what the CLI prints for --help and each command's --help", () => {
    const readme = readFileSync(README, "utf8");
    const start = readme.indexOf(START);
    const end = readme.indexOf(END);
    expect(start, "README has the cli-help markers").toBeGreaterThan(0);
    const wanted = helpMarkdown();
    if (process.env.UPDATE_README === "1") {
      writeFileSync(README, readme.slice(0, start + START.length) + wanted + readme.slice(end));
      return;
    }
    expect(readme.slice(start + START.length, end)).toBe(wanted);
  });
});
