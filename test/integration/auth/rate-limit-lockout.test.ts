import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson } from "../../support/connect-json.ts";
import { BACKENDS, startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import {
  AUTH,
  fails,
  grpc,
  grpcFails,
  IDENTITY_ENV,
  identityClients,
  loginTokens,
  ok,
  signUpAndLogin,
  TEST_ADMIN,
  USERS,
  uniqueName,
} from "../../support/identity.ts";

const SENSITIVE_LIMIT = 8;
const PER_IP_LIMIT = 60;
const LOCKOUT_THRESHOLD = 3;
const LOCKOUT_SECONDS = 2;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(BACKENDS)("account lockout (%s)", (backend) => {
  let server: TestGatehouse;

  beforeAll(async () => {
    server = await startTestGatehouse({
      backend,
      env: {
        ...IDENTITY_ENV,
        LOCKOUT_THRESHOLD: String(LOCKOUT_THRESHOLD),
        LOCKOUT_SECONDS: String(LOCKOUT_SECONDS),
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("locks an account after repeated failures, says so clearly, and unlocks it after the window", async () => {
    const user = await signUpAndLogin(server.url);
    const admin = await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password);
    for (let attempt = 0; attempt < LOCKOUT_THRESHOLD; attempt++) {
      expect(
        (await fails(server.url, `${AUTH}/Login`, { login: user.username, password: "Wrong-pass-123" }))
          .reason,
      ).toBe("invalid_credentials");
    }
    // Even the right password is refused while locked.
    const locked = await fails(server.url, `${AUTH}/Login`, {
      login: user.username,
      password: user.password,
    });
    expect(locked).toMatchObject({ code: "permission_denied", reason: "account_locked" });
    expect(locked.message).toMatch(/locked after too many failed sign-ins; try again in 1 minute/);
    expect(
      (await ok(server.url, `${USERS}/GetUser`, { userId: user.id }, admin.accessToken)).user.status,
    ).toBe("USER_STATUS_LOCKED");
    // Sessions opened before the lockout keep working: the lockout stops guessing, not the owner.
    await ok(server.url, `${AUTH}/GetMe`, {}, user.tokens.accessToken);

    const events = (
      await ok(
        server.url,
        `${USERS}/ListAuditEvents`,
        { targetId: user.id, action: "auth." },
        admin.accessToken,
      )
    ).events.map((event: any) => `${event.action}:${event.result}:${event.reason ?? ""}`);
    expect(events).toEqual(
      expect.arrayContaining([
        "auth.lockout:success:",
        "auth.login:failure:invalid_credentials",
        "auth.login:failure:account_locked",
      ]),
    );

    await sleep(LOCKOUT_SECONDS * 1000 + 300);
    await loginTokens(server.url, user.username, user.password);
  });

  it("an administrator can lift a lockout by re-activating the account", async () => {
    const user = await signUpAndLogin(server.url);
    const admin = await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password);
    for (let attempt = 0; attempt < LOCKOUT_THRESHOLD; attempt++) {
      await fails(server.url, `${AUTH}/Login`, { login: user.username, password: "Wrong-pass-123" });
    }
    expect(
      (await fails(server.url, `${AUTH}/Login`, { login: user.email, password: user.password })).reason,
    ).toBe("account_locked");
    await ok(
      server.url,
      `${USERS}/UpdateUser`,
      { userId: user.id, status: "USER_STATUS_ACTIVE" },
      admin.accessToken,
    );
    await loginTokens(server.url, user.email, user.password);
  });
});

// Every test call comes from 127.0.0.1, so the per-address and per-account limits are met together.
describe.each(BACKENDS)("rate limits (%s)", (backend) => {
  let server: TestGatehouse;
  let clients: ReturnType<typeof identityClients>;

  beforeAll(async () => {
    server = await startTestGatehouse({
      backend,
      env: {
        ...IDENTITY_ENV,
        RATE_LIMIT_SENSITIVE_PER_MINUTE: String(SENSITIVE_LIMIT),
        RATE_LIMIT_PER_IP_PER_MINUTE: String(PER_IP_LIMIT),
      },
    });
    clients = identityClients(server.url);
  });
  afterAll(async () => {
    clients?.close();
    await server?.stop();
  });

  it("limits Login per account and address with RESOURCE_EXHAUSTED and RetryInfo, not counting invalid requests", async () => {
    const login = uniqueName("target");
    for (let attempt = 0; attempt < SENSITIVE_LIMIT + 2; attempt++) {
      expect((await fails(server.url, `${AUTH}/Login`, { login, password: "" })).code).toBe(
        "invalid_argument",
      );
    }
    for (let attempt = 0; attempt < SENSITIVE_LIMIT; attempt++) {
      expect((await fails(server.url, `${AUTH}/Login`, { login, password: "Guess-123456" })).code).toBe(
        "unauthenticated",
      );
    }
    const limited = await fails(server.url, `${AUTH}/Login`, { login, password: "Guess-123456" });
    expect(limited).toMatchObject({ code: "resource_exhausted", reason: "rate_limited" });
    const retry = limited.details.find((detail) => detail.type === "google.rpc.RetryInfo");
    expect(retry?.debug.retryDelay).toMatch(/^\d+(\.\d+)?s$/);
    expect(await grpcFails(clients.auth, "login", { login, password: "Guess-123456" })).toEqual({
      code: grpc.status.RESOURCE_EXHAUSTED,
      reason: "rate_limited",
    });
  });

  it("limits ForgotPassword and VerifyMfa too", async () => {
    const email = `${uniqueName("mailbomb")}@example.test`;
    const forgot = await Promise.all(
      Array.from({ length: SENSITIVE_LIMIT + 1 }, () =>
        fails(server.url, `${AUTH}/ForgotPassword`, { email }).catch(() => undefined),
      ),
    );
    expect(forgot.filter((failure) => failure?.code === "resource_exhausted")).toHaveLength(1);

    const mfaToken = "m".repeat(43);
    const answers = await Promise.all(
      Array.from({ length: SENSITIVE_LIMIT + 1 }, () =>
        fails(server.url, `${AUTH}/VerifyMfa`, { mfaToken, totpCode: "123456" }),
      ),
    );
    expect(answers.filter((answer) => answer.code === "resource_exhausted")).toHaveLength(1);
    expect(answers.filter((answer) => answer.reason === "invalid_mfa_token")).toHaveLength(SENSITIVE_LIMIT);
  });

  it("limits SignUp per address like the other sensitive calls", async () => {
    const answers = [];
    for (let attempt = 0; attempt <= SENSITIVE_LIMIT; attempt++) {
      const username = uniqueName("flood");
      const response = await postJson(server.url, `${AUTH}/SignUp`, {
        username,
        email: `${username}@example.test`,
        password: "Correct-horse-battery-9",
        firstName: "Flood",
        lastName: "Test",
      });
      answers.push(response.status === 200 ? "ok" : String(response.body.code));
    }
    expect(answers.slice(0, SENSITIVE_LIMIT)).toEqual(Array(SENSITIVE_LIMIT).fill("ok"));
    expect(answers[SENSITIVE_LIMIT]).toBe("resource_exhausted");
  });

  it("limits every call per address; health probes are not limited", async () => {
    const codes: string[] = [];
    for (let call = 0; call <= PER_IP_LIMIT; call++) {
      codes.push((await fails(server.url, `${AUTH}/GetMe`, {})).code);
    }
    const first = codes.indexOf("resource_exhausted");
    expect(first).toBeGreaterThan(0);
    expect(codes.slice(0, first).every((code) => code === "unauthenticated")).toBe(true);
    expect(codes.slice(first).every((code) => code === "resource_exhausted")).toBe(true);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    // The decision's front doors sit in front of every request in the mesh: never rate limited.
    for (let call = 0; call <= PER_IP_LIMIT; call++) {
      const verify = await fails(server.url, `${AUTH}/VerifyToken`, { token: "not.a.token" });
      expect(verify.code).toBe("unauthenticated");
      const check = await postJson(server.url, "envoy.service.auth.v3.Authorization/Check", {
        attributes: { request: { http: { headers: {} } }, contextExtensions: { service: "billing" } },
      });
      expect(check.status).toBe(200);
      expect((check.body.status as { code: number }).code).toBe(16);
    }
  });
});
