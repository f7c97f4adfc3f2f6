import { describe, expect, it } from "vitest";
import { contentSecurityPolicy } from "./security-headers.ts";

const directives = (policy: string) =>
  new Map(
    policy.split(";").map((part) => {
      const [name, ...values] = part.trim().split(/\s+/);
      return [name!, values.join(" ")];
    }),
  );

describe("the hosted pages' content security policy", () => {
  it("allows no script at all on a page without the passkey script", () => {
    const policy = directives(contentSecurityPolicy());
    expect(policy.get("default-src")).toBe("'none'");
    expect(policy.has("script-src")).toBe(false);
  });

  it("allows only our own script files, never inline, and no string-to-markup sinks, on a passkey page", () => {
    const text = contentSecurityPolicy({ scripts: true });
    const policy = directives(text);
    expect(policy.get("script-src")).toBe("'self'");
    expect(policy.get("require-trusted-types-for")).toBe("'script'");
    expect(policy.get("trusted-types")).toBe("'none'");
    expect(text).not.toMatch(/unsafe|nonce-|sha256-|data:/);
  });
});
