import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.ts";

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger("info", stream) };
}

describe("logger", () => {
  it("never writes passwords, tokens, secrets, authorization headers or query parameters", () => {
    const { lines, logger } = capture();
    const secrets = {
      password: "hunter2-password",
      refreshToken: "refresh-secret-value",
      clientSecret: "client-secret-value",
      headers: { authorization: "Bearer eyJ-secret" },
      request: { token: "vault-token-value", newPassword: "new-password-value" },
      err: { message: "query failed", parameters: ["sealed-value-in-parameters"] },
    };
    logger.info(secrets, "something happened");
    const written = lines.join("");
    expect(written).toContain("something happened");
    expect(written).toContain("[redacted]");
    for (const value of [
      "hunter2-password",
      "refresh-secret-value",
      "client-secret-value",
      "eyJ-secret",
      "vault-token-value",
      "new-password-value",
      "sealed-value-in-parameters",
    ]) {
      expect(written).not.toContain(value);
    }
  });
});

describe("logger, a config object logged whole", () => {
  it("never writes the key encryption key or a nested client secret", () => {
    const { lines, logger } = capture();
    logger.info(
      {
        provider: {
          kind: "local",
          keyEncryptionKey: { kind: "configured", material: "ab".repeat(32) },
        },
        identity: { provider: { clientSecret: "nested-client-secret" } },
      },
      "started",
    );
    const written = lines.join("");
    expect(written).toContain("started");
    expect(written).not.toContain("ab".repeat(32));
    expect(written).not.toContain("nested-client-secret");
  });
});
