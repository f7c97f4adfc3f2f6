import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import {
  AUTH,
  fails,
  IDENTITY_ENV,
  identityClients,
  loginTokens,
  ok,
  startMailCatcher,
  TEST_ADMIN,
  tokenInMail,
  USERS,
  unary,
  uniqueName,
} from "../../support/identity.ts";

describe.each(BACKENDS)("password reset and email verification by mail (%s)", (backend) => {
  let server: TestGatehouse;
  let mail: Awaited<ReturnType<typeof startMailCatcher>>;
  let clients: ReturnType<typeof identityClients>;
  let adminToken: string;

  beforeAll(async () => {
    mail = await startMailCatcher();
    server = await startTestGatehouse({
      backend,
      env: {
        ...IDENTITY_ENV,
        SMTP_URL: mail.url,
        SMTP_FROM: "Gatehouse <noreply@gatehouse.test>",
        EMAIL_VERIFICATION_REQUIRED: "true",
        PASSWORD_RESET_URL: "https://app.example/reset",
      },
    });
    clients = identityClients(server.url);
    adminToken = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
  });
  afterAll(async () => {
    clients?.close();
    await server?.stop();
    await mail?.close();
  });

  /** A verified user made by the administrator. */
  async function verifiedUser() {
    const username = uniqueName("reset");
    const email = `${username}@example.test`;
    const password = "Original-pass-123";
    const created = await ok(
      server.url,
      `${USERS}/CreateUser`,
      { username, email, password, emailVerified: true, profile: { firstName: "R" } },
      adminToken,
    );
    return { id: created.user.id as string, username, email, password };
  }

  it("mails a single-use reset token; the reset ends every session; unknown addresses get the same answer", async () => {
    const user = await verifiedUser();
    const session = await loginTokens(server.url, user.username, user.password);

    const unknown = await ok(server.url, `${AUTH}/ForgotPassword`, {
      email: `${uniqueName("nobody")}@example.test`,
    });
    const known = await unary<any>(clients.auth, "forgotPassword", { email: user.email.toUpperCase() });
    expect(unknown).toEqual({});
    expect(known).toEqual({});

    const message = await mail.waitFor((m) => m.to.includes(user.email));
    expect(message.raw).toMatch(/^Subject: Reset your Gatehouse password/m);
    expect(message.text).toContain("https://app.example/reset?token=");
    const resetToken = tokenInMail(message);

    // The policy is checked before the token is used up.
    expect(
      await fails(server.url, `${AUTH}/ResetPassword`, { resetToken, newPassword: "password123" }),
    ).toMatchObject({ code: "invalid_argument", reason: "weak_password" });
    await ok(server.url, `${AUTH}/ResetPassword`, { resetToken, newPassword: "Brand-new-pass-456" });

    expect((await fails(server.url, `${AUTH}/GetMe`, {}, session.accessToken)).reason).toBe(
      "session_revoked",
    );
    expect((await fails(server.url, `${AUTH}/Refresh`, { refreshToken: session.refreshToken })).reason).toBe(
      "session_ended",
    );
    expect(
      (await fails(server.url, `${AUTH}/Login`, { login: user.username, password: user.password })).reason,
    ).toBe("invalid_credentials");
    const fresh = await loginTokens(server.url, user.email, "Brand-new-pass-456");
    await ok(server.url, `${AUTH}/GetMe`, {}, fresh.accessToken);

    expect(
      await fails(server.url, `${AUTH}/ResetPassword`, { resetToken, newPassword: "Another-new-pass-789" }),
    ).toMatchObject({ code: "invalid_argument", reason: "invalid_token" });
    // Mail went only to the existing account.
    expect(mail.mails.flatMap((m) => m.to).some((address) => address.includes("nobody"))).toBe(false);
  });

  it("treats CreateUser without a password as an invitation: a mailed link sets the first password", async () => {
    const username = uniqueName("invited");
    const email = `${username}@example.test`;
    await ok(server.url, `${USERS}/CreateUser`, { username, email, profile: { firstName: "I" } }, adminToken);
    const invitation = await mail.waitFor((m) => m.to.includes(email));
    expect(invitation.raw).toMatch(/^Subject: Your Gatehouse account: choose a password/m);
    expect(invitation.text).toContain("https://app.example/reset?token=");
    expect(invitation.text).toContain("within 72 hours");
    // No password works before the invitation is answered.
    expect(
      (await fails(server.url, `${AUTH}/Login`, { login: username, password: "Any-guess-12345" })).reason,
    ).toBe("invalid_credentials");
    await ok(server.url, `${AUTH}/ResetPassword`, {
      resetToken: tokenInMail(invitation),
      newPassword: "Chosen-by-invitee-42",
    });
    // The mail reached its owner: verified, so sign-in works even with EMAIL_VERIFICATION_REQUIRED.
    await loginTokens(server.url, username, "Chosen-by-invitee-42");

    // An account created with a password gets no invitation.
    const withPassword = await verifiedUser();
    await ok(server.url, `${AUTH}/ForgotPassword`, { email: withPassword.email });
    const first = await mail.waitFor((m) => m.to.includes(withPassword.email));
    expect(first.raw).toMatch(/^Subject: Reset your Gatehouse password/m);
  });

  it("only the newest reset link works", async () => {
    const user = await verifiedUser();
    await ok(server.url, `${AUTH}/ForgotPassword`, { email: user.email });
    const first = tokenInMail(await mail.waitFor((m) => m.to.includes(user.email)));
    await ok(server.url, `${AUTH}/ForgotPassword`, { email: user.email });
    const second = tokenInMail(
      await mail.waitFor((m) => m.to.includes(user.email) && !m.text.includes(first)),
    );
    expect(
      (
        await fails(server.url, `${AUTH}/ResetPassword`, {
          resetToken: first,
          newPassword: "Brand-new-pass-456",
        })
      ).reason,
    ).toBe("invalid_token");
    await ok(server.url, `${AUTH}/ResetPassword`, { resetToken: second, newPassword: "Brand-new-pass-456" });
  });

  /** A reset link mailed to the user now. */
  async function resetLink(email: string, seen: Set<string>): Promise<string> {
    await ok(server.url, `${AUTH}/ForgotPassword`, { email });
    const token = tokenInMail(
      await mail.waitFor((m) => m.to.includes(email) && ![...seen].some((old) => m.text.includes(old))),
    );
    seen.add(token);
    return token;
  }

  it("a password change voids the reset links mailed before it (ChangePassword, SetUserPassword)", async () => {
    const user = await verifiedUser();
    const seen = new Set<string>();
    const stale = async (resetToken: string) =>
      expect(
        await fails(server.url, `${AUTH}/ResetPassword`, { resetToken, newPassword: "Attacker-pass-000" }),
      ).toMatchObject({ code: "invalid_argument", reason: "invalid_token" });

    // E.g. an attacker who read the mailbox once: the owner then changes the password.
    const beforeChange = await resetLink(user.email, seen);
    const session = await loginTokens(server.url, user.username, user.password);
    await ok(
      server.url,
      `${AUTH}/ChangePassword`,
      { currentPassword: user.password, newPassword: "Changed-pass-234" },
      session.accessToken,
    );
    await stale(beforeChange);

    const beforeAdminSet = await resetLink(user.email, seen);
    await ok(
      server.url,
      `${USERS}/SetUserPassword`,
      { userId: user.id, password: "Admin-set-pass-345" },
      adminToken,
    );
    await stale(beforeAdminSet);

    await loginTokens(server.url, user.username, "Admin-set-pass-345");
  });

  it("requires a verified email before sign-in when EMAIL_VERIFICATION_REQUIRED", async () => {
    const username = uniqueName("verify");
    const email = `${username}@example.test`;
    const signUp = await ok(server.url, `${AUTH}/SignUp`, {
      username,
      email,
      password: "Verify-me-pass-1",
      firstName: "V",
      lastName: "E",
    });
    expect(signUp.emailVerificationRequired).toBe(true);
    expect(
      await fails(server.url, `${AUTH}/Login`, { login: username, password: "Verify-me-pass-1" }),
    ).toMatchObject({
      code: "permission_denied",
      reason: "email_not_verified",
    });
    const token = tokenInMail(await mail.waitFor((m) => m.to.includes(email)));
    await unary(clients.auth, "verifyEmail", { token });
    expect((await fails(server.url, `${AUTH}/VerifyEmail`, { token })).reason).toBe("invalid_token");
    const tokens = await loginTokens(server.url, username, "Verify-me-pass-1");
    expect((await ok(server.url, `${AUTH}/GetMe`, {}, tokens.accessToken)).user.emailVerified).toBe(true);
  });

  it("audits requests and resets", async () => {
    const forgot: any[] = (
      await ok(server.url, `${USERS}/ListAuditEvents`, { action: "auth.password_forgot" }, adminToken)
    ).events;
    // Unknown addresses are recorded too, without a target.
    expect(forgot.some((event) => event.targetId === "")).toBe(true);
    expect(forgot.some((event) => event.targetKind === "user")).toBe(true);
    const resets: any[] = (
      await ok(server.url, `${USERS}/ListAuditEvents`, { action: "auth.password_reset" }, adminToken)
    ).events;
    expect(resets.map((event) => `${event.result}:${event.reason ?? ""}`)).toEqual(
      expect.arrayContaining(["success:", "failure:weak_password", "failure:invalid_token"]),
    );
  });
});
