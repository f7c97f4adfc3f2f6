import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson } from "../support/connect-json.ts";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import { AUTH, IDENTITY_ENV, loginTokens, TEST_ADMIN } from "../support/identity.ts";

const gauge = (text: string, name: string) =>
  Number(/^(\S+) (\S+)$/m.exec(text.split("\n").find((line) => line.startsWith(`${name} `)) ?? "")?.[2]);

describe("the decision caches on /metrics", () => {
  let server: TestGatehouse;
  beforeAll(async () => {
    server = await startTestGatehouse({ backend: "embedded", env: IDENTITY_ENV });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("reports the verified tokens and the subjects held in memory after a decision", async () => {
    const before = await (await fetch(`${server.url}/metrics`)).text();
    expect(gauge(before, "gatehouse_decision_cached_subjects")).toBe(0);
    const { accessToken } = await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password);
    expect((await postJson(server.url, `${AUTH}/VerifyToken`, { token: accessToken })).status).toBe(200);
    const after = await (await fetch(`${server.url}/metrics`)).text();
    expect(gauge(after, "gatehouse_decision_cached_tokens")).toBeGreaterThanOrEqual(1);
    expect(gauge(after, "gatehouse_decision_cached_subjects")).toBeGreaterThanOrEqual(1);
  });
});
