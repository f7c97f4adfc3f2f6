import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson } from "../../support/connect-json.ts";
import { BACKENDS, startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import {
  AUTH,
  fails,
  freshTotpCode,
  grpc,
  grpcFails,
  IDENTITY_ENV,
  identityClients,
  loginTokens,
  ok,
  signUpAndLogin,
  startMailCatcher,
  TEST_ADMIN,
  tokenInMail,
  USERS,
  uniqueName,
} from "../../support/identity.ts";
import { newVaultKey, VAULT, vaultEnv } from "../../support/vault.ts";

const SENSITIVE_LIMIT = 8;
const PER_IP_LIMIT = 60;
/** Failures from sources an account does not know that lock it against them. */
const ACCOUNT_THRESHOLD = 4;
/** Failures for one account from one source before that source waits. */
const SOURCE_THRESHOLD = 3;
const LOCKOUT_SECONDS = 2;
const WRONG = "Wrong-pass-123";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let addressCounter = 0;
/** A source address no test has used (TEST-NET-2, behind the one trusted proxy hop). */
const newAddress = () => `198.51.100.${++addressCounter}`;

/** The parts of an answer a caller sees, but the retry delay's milliseconds. */
interface Answer {
  status: number;
  code: string;
  reason: string;
  message: string;
  retryDelay: string | undefined;
}

describe.each(BACKENDS)("sign-in lockout and throttling (%s)", (backend) => {
  let server: TestGatehouse;
  let mail: Awaited<ReturnType<typeof startMailCatcher>>;
  let admin: string;

  beforeAll(async () => {
    mail = await startMailCatcher();
    server = await startTestGatehouse({
      backend,
      env: {
        ...IDENTITY_ENV,
        // Sources are told apart by X-Forwarded-For, as behind an ingress.
        TRUSTED_PROXY_HOPS: "1",
        LOCKOUT_THRESHOLD: String(ACCOUNT_THRESHOLD),
        LOCKOUT_SOURCE_THRESHOLD: String(SOURCE_THRESHOLD),
        LOCKOUT_SECONDS: String(LOCKOUT_SECONDS),
        SMTP_URL: mail.url,
        ...vaultEnv({ k1: newVaultKey() }, "k1"),
      },
    });
    admin = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
  });
  afterAll(async () => {
    await server?.stop();
    await mail?.close();
  });

  async function login(body: Record<string, unknown>, from: string): Promise<Answer & { body: any }> {
    const response = await postJson(server.url, `${AUTH}/Login`, body, { "x-forwarded-for": from });
    const details = (response.body.details ?? []) as Array<{ type: string; debug: any }>;
    return {
      status: response.status,
      code: String(response.body.code ?? "ok"),
      reason: details.find((detail) => detail.type === "google.rpc.ErrorInfo")?.debug?.reason ?? "",
      message: String(response.body.message ?? ""),
      retryDelay: details.find((detail) => detail.type === "google.rpc.RetryInfo")?.debug?.retryDelay,
      body: response.body,
    };
  }
  const visible = ({ status, code, reason, message }: Answer) => ({ status, code, reason, message });

  /** A user who signed in once from `home` (so the account knows that source). */
  async function userAt(home: string) {
    const user = await signUpAndLogin(server.url);
    expect((await login({ login: user.username, password: user.password }, home)).code).toBe("ok");
    return user;
  }

  it("answers a login that names no account exactly as one that does, from one source and from many", async () => {
    const user = await userAt(newAddress());
    const nobody = uniqueName("nobody");
    // One source: SOURCE_THRESHOLD wrong passwords, then it must wait, even with the right password.
    const source = newAddress();
    const known: Answer[] = [];
    const unknown: Answer[] = [];
    for (let attempt = 0; attempt < SOURCE_THRESHOLD + 2; attempt++) {
      const password = attempt === SOURCE_THRESHOLD + 1 ? user.password : WRONG;
      known.push(await login({ login: user.username, password }, source));
      unknown.push(await login({ login: nobody, password }, source));
    }
    expect(known.map(visible)).toEqual(unknown.map(visible));
    expect(known.map((answer) => answer.reason)).toEqual([
      ...Array(SOURCE_THRESHOLD).fill("invalid_credentials"),
      "sign_in_throttled",
      "sign_in_throttled",
    ]);
    expect(known[SOURCE_THRESHOLD]).toMatchObject({ code: "resource_exhausted" });
    expect(known[SOURCE_THRESHOLD]!.retryDelay).toMatch(/^\d+(\.\d+)?s$/);

    // Many sources, one failure each (a botnet): the account budget, alike for both.
    const other = await userAt(newAddress());
    const otherNobody = uniqueName("nobody");
    const spread: Answer[] = [];
    const spreadUnknown: Answer[] = [];
    for (let attempt = 0; attempt <= ACCOUNT_THRESHOLD; attempt++) {
      const address = newAddress();
      const password = attempt === ACCOUNT_THRESHOLD ? other.password : WRONG;
      spread.push(await login({ login: other.email, password }, address));
      spreadUnknown.push(await login({ login: `${otherNobody}@example.test`, password }, address));
    }
    expect(spread.map(visible)).toEqual(spreadUnknown.map(visible));
    expect(spread.map((answer) => answer.reason)).toEqual([
      ...Array(ACCOUNT_THRESHOLD).fill("invalid_credentials"),
      "sign_in_throttled",
    ]);
  });

  it("a stranger's failures do not keep the signed-in owner from re-checking the password (RequestOfflineToken)", async () => {
    const home = newAddress();
    const user = await userAt(home);
    for (let attempt = 0; attempt < ACCOUNT_THRESHOLD; attempt++) {
      await login({ login: user.username, password: WRONG }, newAddress());
    }
    expect((await ok(server.url, `${USERS}/GetUser`, { userId: user.id }, admin)).user.status).toBe(
      "USER_STATUS_LOCKED",
    );
    const request = (from: string) =>
      postJson(
        server.url,
        `${VAULT}/RequestOfflineToken`,
        { purpose: uniqueName("sync"), password: user.password },
        { authorization: `Bearer ${user.tokens.accessToken}`, "x-forwarded-for": from },
      );
    // The owner at home gets the offline token; the same call from a source the account does not know
    // is throttled, like a sign-in from there.
    const atHome = await request(home);
    expect(atHome.status).toBe(200);
    expect((atHome.body.entry as { tokenType: string }).tokenType).toBe("VAULT_TOKEN_TYPE_OFFLINE");
    const elsewhere = await request(newAddress());
    expect(elsewhere.body.code).toBe("resource_exhausted");
  });

  it("a stranger's failures do not lock the owner out: known sources, a one-time code and a reset link get through", async () => {
    const home = newAddress();
    const user = await userAt(home);
    // The owner turns MFA on.
    const used = new Set<number>();
    const secret: string = (await ok(server.url, `${AUTH}/EnrollTotp`, {}, user.tokens.accessToken)).secret;
    await ok(
      server.url,
      `${AUTH}/ConfirmTotp`,
      { code: freshTotpCode(secret, used) },
      user.tokens.accessToken,
    );

    for (let attempt = 0; attempt < ACCOUNT_THRESHOLD; attempt++) {
      await login({ login: user.username, password: WRONG }, newAddress());
    }
    // Locked against unknown sources: even the right password from a new one is refused…
    const travelling = newAddress();
    expect(await login({ login: user.username, password: user.password }, travelling)).toMatchObject({
      code: "resource_exhausted",
      reason: "sign_in_throttled",
    });
    expect((await ok(server.url, `${USERS}/GetUser`, { userId: user.id }, admin)).user.status).toBe(
      "USER_STATUS_LOCKED",
    );
    // …as is a wrong code with it (not telling that the password was right)…
    expect(
      await login({ login: user.username, password: user.password, totpCode: "000000" }, travelling),
    ).toMatchObject({ reason: "sign_in_throttled" });
    // …but not the owner at home (a challenge, then the code)…
    const challenge = await login({ login: user.username, password: user.password }, home);
    expect(challenge.body.mfaChallenge?.mfaToken).toEqual(expect.any(String));
    // …nor the owner elsewhere with the password and a right one-time code.
    const withCode = await login(
      { login: user.username, password: user.password, totpCode: freshTotpCode(secret, used) },
      newAddress(),
    );
    expect(withCode.body.tokens?.accessToken).toEqual(expect.any(String));

    const events = (
      await ok(server.url, `${USERS}/ListAuditEvents`, { targetId: user.id, action: "auth." }, admin)
    ).events.map((event: any) => `${event.action}:${event.result}:${event.reason ?? ""}`);
    expect(events).toEqual(
      expect.arrayContaining([
        "auth.lockout:success:",
        "auth.login:failure:invalid_credentials",
        "auth.login:failure:sign_in_throttled",
      ]),
    );
  });

  it("a password reset unlocks the account (the lockout message says to reset)", async () => {
    const user = await userAt(newAddress());
    for (let attempt = 0; attempt < ACCOUNT_THRESHOLD; attempt++) {
      await login({ login: user.username, password: WRONG }, newAddress());
    }
    const locked = await login({ login: user.username, password: user.password }, newAddress());
    expect(locked).toMatchObject({ reason: "sign_in_throttled" });
    expect(locked.message).toMatch(/try again in 1 minute, reset the password/);

    await ok(server.url, `${AUTH}/ForgotPassword`, { email: user.email });
    const resetToken = tokenInMail(await mail.waitFor((m) => m.to.includes(user.email)));
    await ok(server.url, `${AUTH}/ResetPassword`, { resetToken, newPassword: "After-reset-pass-77" });
    expect((await login({ login: user.username, password: "After-reset-pass-77" }, newAddress())).code).toBe(
      "ok",
    );
  });

  it("a source's waits grow with each further failure, also where the account knows the source", async () => {
    const home = newAddress();
    const user = await userAt(home);
    for (let attempt = 0; attempt < SOURCE_THRESHOLD; attempt++) {
      await login({ login: user.username, password: WRONG }, home);
    }
    const first = await login({ login: user.username, password: user.password }, home);
    expect(first).toMatchObject({ reason: "sign_in_throttled" });
    const seconds = (answer: Answer) => Number.parseFloat(answer.retryDelay ?? "0");
    expect(seconds(first)).toBeGreaterThan(0);
    expect(seconds(first)).toBeLessThanOrEqual(LOCKOUT_SECONDS);
    await sleep(LOCKOUT_SECONDS * 1000 + 200);
    expect((await login({ login: user.username, password: WRONG }, home)).reason).toBe("invalid_credentials");
    const second = await login({ login: user.username, password: user.password }, home);
    expect(second).toMatchObject({ reason: "sign_in_throttled" });
    expect(seconds(second)).toBeGreaterThan(LOCKOUT_SECONDS);
    // Other sources are not held back by this one's wait; sessions opened before keep working.
    expect((await login({ login: user.username, password: user.password }, newAddress())).code).toBe("ok");
    await ok(server.url, `${AUTH}/GetMe`, {}, user.tokens.accessToken);
  });

  it("a session cannot be used to guess the password without bound (ChangePassword re-checks are throttled)", async () => {
    const user = await signUpAndLogin(server.url);
    const change = (currentPassword: string) =>
      postJson(
        server.url,
        `${AUTH}/ChangePassword`,
        { currentPassword, newPassword: "Never-set-pass-99" },
        { authorization: `Bearer ${user.tokens.accessToken}` },
      );
    const reasons: string[] = [];
    for (let attempt = 0; attempt <= SOURCE_THRESHOLD; attempt++) {
      const response = await change(`${WRONG}${attempt}`);
      reasons.push(
        (response.body.details as any[])?.find((d) => d.type === "google.rpc.ErrorInfo")?.debug?.reason,
      );
    }
    expect(reasons).toEqual([...Array(SOURCE_THRESHOLD).fill("invalid_credentials"), "sign_in_throttled"]);
    // Even the right password waits now: the answer says nothing about it.
    const right = await change(user.password);
    expect(right.body.code).toBe("resource_exhausted");
  });

  it("an administrator can lift a lockout by re-activating the account", async () => {
    const user = await userAt(newAddress());
    for (let attempt = 0; attempt < ACCOUNT_THRESHOLD; attempt++) {
      await login({ login: user.username, password: WRONG }, newAddress());
    }
    expect((await login({ login: user.email, password: user.password }, newAddress())).reason).toBe(
      "sign_in_throttled",
    );
    await ok(server.url, `${USERS}/UpdateUser`, { userId: user.id, status: "USER_STATUS_ACTIVE" }, admin);
    expect((await login({ login: user.email, password: user.password }, newAddress())).code).toBe("ok");
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
        // The interceptor's limits are under test here, not the sign-in throttle (above).
        LOCKOUT_THRESHOLD: "100",
        LOCKOUT_SOURCE_THRESHOLD: "100",
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
