import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
  TEST_ADMIN,
  USERS,
  unary,
} from "../../support/identity.ts";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];

describe.each(BACKENDS)("MFA over the wire (%s)", (backend) => {
  let server: TestGatehouse;
  let clients: ReturnType<typeof identityClients>;

  beforeAll(async () => {
    server = await startTestGatehouse({ backend, env: IDENTITY_ENV });
    clients = identityClients(server.url);
  });
  afterAll(async () => {
    clients?.close();
    await server?.stop();
  });

  /** A user who has enrolled and confirmed TOTP. */
  async function enrolledUser() {
    const user = await signUpAndLogin(server.url);
    const used = new Set<number>();
    const enrollment = await ok(server.url, `${AUTH}/EnrollTotp`, {}, user.tokens.accessToken);
    const secret: string = enrollment.secret;
    const confirmed = await ok(
      server.url,
      `${AUTH}/ConfirmTotp`,
      { code: freshTotpCode(secret, used) },
      user.tokens.accessToken,
    );
    return { ...user, secret, used, recoveryCodes: confirmed.recoveryCodes as string[] };
  }

  async function challenge(login: string, password: string): Promise<string> {
    const response = await ok(server.url, `${AUTH}/Login`, { login, password });
    expect(response.tokens).toBeUndefined();
    return response.mfaChallenge.mfaToken;
  }

  it("enrols TOTP: a secret, an otpauth URI and a QR code; a wrong code does not confirm it", async () => {
    const user = await signUpAndLogin(server.url);
    const enrollment = await unary<any>(
      clients.auth,
      "enrollTotp",
      {},
      clients.bearer(user.tokens.accessToken),
    );
    expect(enrollment.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(enrollment.otpauthUri).toMatch(/^otpauth:\/\/totp\/Gatehouse:/);
    expect(enrollment.otpauthUri).toContain(`secret=${enrollment.secret}`);
    expect([...enrollment.qrCodePng.subarray(0, 4)]).toEqual(PNG_SIGNATURE);

    const wrong = await grpcFails(
      clients.auth,
      "confirmTotp",
      { code: "000000" },
      clients.bearer(user.tokens.accessToken),
    );
    expect(wrong).toEqual({ code: grpc.status.INVALID_ARGUMENT, reason: "invalid_totp_code" });
    expect((await ok(server.url, `${AUTH}/GetMe`, {}, user.tokens.accessToken)).user.mfaEnabled).toBeFalsy();

    const used = new Set<number>();
    const confirmed = await unary<any>(
      clients.auth,
      "confirmTotp",
      { code: freshTotpCode(enrollment.secret, used) },
      clients.bearer(user.tokens.accessToken),
    );
    expect(confirmed.recoveryCodes).toHaveLength(10);
    expect(new Set(confirmed.recoveryCodes).size).toBe(10);
    expect((await ok(server.url, `${AUTH}/GetMe`, {}, user.tokens.accessToken)).user.mfaEnabled).toBe(true);
    expect(await fails(server.url, `${AUTH}/EnrollTotp`, {}, user.tokens.accessToken)).toMatchObject({
      code: "failed_precondition",
      reason: "mfa_already_enabled",
    });
  });

  it("signs in with a challenge and a TOTP code; a code works once, and so does the challenge", async () => {
    const user = await enrolledUser();
    const mfaToken = await challenge(user.username, user.password);
    const code = freshTotpCode(user.secret, user.used);
    const tokens = (await unary<any>(clients.auth, "verifyMfa", { mfaToken, totpCode: code })).tokens;
    expect((await ok(server.url, `${AUTH}/GetMe`, {}, tokens.accessToken)).user.id).toBe(user.id);

    // The challenge is spent (it is checked before the code).
    expect(await fails(server.url, `${AUTH}/VerifyMfa`, { mfaToken, totpCode: code })).toMatchObject({
      code: "unauthenticated",
      reason: "invalid_mfa_token",
    });
    // The same code again, on a fresh challenge: refused (replay).
    const again = await challenge(user.username, user.password);
    expect(await fails(server.url, `${AUTH}/VerifyMfa`, { mfaToken: again, totpCode: code })).toMatchObject({
      code: "unauthenticated",
      reason: "invalid_otp",
    });
    // A code sent with the password skips the challenge.
    const direct = await ok(server.url, `${AUTH}/Login`, {
      login: user.username,
      password: user.password,
      totpCode: freshTotpCode(user.secret, user.used),
    });
    expect(direct.tokens.accessToken).toEqual(expect.any(String));
    expect(
      await fails(server.url, `${AUTH}/Login`, {
        login: user.username,
        password: user.password,
        totpCode: "123456",
      }),
    ).toMatchObject({ code: "unauthenticated", reason: "invalid_otp" });
  });

  it("signs in with a recovery code, once", async () => {
    const user = await enrolledUser();
    const recoveryCode = user.recoveryCodes[3]!;
    const tokens = (
      await ok(server.url, `${AUTH}/VerifyMfa`, {
        mfaToken: await challenge(user.username, user.password),
        recoveryCode: recoveryCode.toUpperCase(),
      })
    ).tokens;
    await ok(server.url, `${AUTH}/GetMe`, {}, tokens.accessToken);
    const reuse = await grpcFails(clients.auth, "verifyMfa", {
      mfaToken: await challenge(user.username, user.password),
      recoveryCode,
    });
    expect(reuse).toEqual({ code: grpc.status.UNAUTHENTICATED, reason: "invalid_recovery_code" });
  });

  it("regenerates recovery codes and turns MFA off only with the password and a second factor", async () => {
    const user = await enrolledUser();
    const token = user.tokens.accessToken;
    expect(
      await fails(server.url, `${AUTH}/RegenerateRecoveryCodes`, { password: "Wrong-password-1" }, token),
    ).toMatchObject({ code: "unauthenticated", reason: "invalid_credentials" });
    const fresh: string[] = (
      await ok(server.url, `${AUTH}/RegenerateRecoveryCodes`, { password: user.password }, token)
    ).recoveryCodes;
    expect(fresh).toHaveLength(10);
    expect(fresh).not.toContain(user.recoveryCodes[0]);
    expect(
      await fails(server.url, `${AUTH}/VerifyMfa`, {
        mfaToken: await challenge(user.username, user.password),
        recoveryCode: user.recoveryCodes[0],
      }),
    ).toMatchObject({ reason: "invalid_recovery_code" });

    // A session and the password are not enough (a stolen session whose owner's password leaked).
    const passwordOnly = await fails(server.url, `${AUTH}/DisableTotp`, { password: user.password }, token);
    expect(passwordOnly).toMatchObject({ code: "invalid_argument" });
    expect(passwordOnly.message).toContain("second_factor");
    expect(
      await fails(
        server.url,
        `${AUTH}/DisableTotp`,
        { password: "Wrong-password-1", totpCode: freshTotpCode(user.secret, user.used) },
        token,
      ),
    ).toMatchObject({ code: "unauthenticated", reason: "invalid_credentials" });
    expect(
      await fails(server.url, `${AUTH}/DisableTotp`, { password: user.password, totpCode: "000000" }, token),
    ).toMatchObject({ code: "unauthenticated", reason: "invalid_otp" });
    expect((await ok(server.url, `${AUTH}/GetMe`, {}, token)).user.mfaEnabled).toBe(true);
    await ok(
      server.url,
      `${AUTH}/DisableTotp`,
      { password: user.password, totpCode: freshTotpCode(user.secret, user.used) },
      token,
    );
    expect((await ok(server.url, `${AUTH}/GetMe`, {}, token)).user.mfaEnabled).toBeFalsy();
    await loginTokens(server.url, user.username, user.password);
    expect(
      await fails(server.url, `${AUTH}/DisableTotp`, { password: user.password, totpCode: "000000" }, token),
    ).toMatchObject({ code: "failed_precondition", reason: "mfa_not_enabled" });
  });

  it("turns MFA off with a recovery code instead of a TOTP code (a lost phone)", async () => {
    const user = await enrolledUser();
    expect(
      await fails(
        server.url,
        `${AUTH}/DisableTotp`,
        { password: user.password, recoveryCode: "abcde-fghij" },
        user.tokens.accessToken,
      ),
    ).toMatchObject({ code: "unauthenticated", reason: "invalid_recovery_code" });
    expect((await ok(server.url, `${AUTH}/GetMe`, {}, user.tokens.accessToken)).user.mfaEnabled).toBe(true);
    await ok(
      server.url,
      `${AUTH}/DisableTotp`,
      { password: user.password, recoveryCode: user.recoveryCodes[5] },
      user.tokens.accessToken,
    );
    expect((await ok(server.url, `${AUTH}/GetMe`, {}, user.tokens.accessToken)).user.mfaEnabled).toBeFalsy();
  });

  it("audits enrolment and second-factor sign-ins", async () => {
    const user = await enrolledUser();
    await ok(server.url, `${AUTH}/VerifyMfa`, {
      mfaToken: await challenge(user.username, user.password),
      totpCode: freshTotpCode(user.secret, user.used),
    });
    const admin = await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password);
    const events: any[] = (
      await ok(
        server.url,
        `${USERS}/ListAuditEvents`,
        { actorId: user.id, action: "auth." },
        admin.accessToken,
      )
    ).events;
    const actions = events.map((event) => `${event.action}:${event.result}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        "auth.totp_enroll:success",
        "auth.totp_confirm:success",
        "auth.verify_mfa:success",
      ]),
    );
    expect(events.find((event) => event.action === "auth.verify_mfa").details).toEqual({ method: "totp" });
  });
});
