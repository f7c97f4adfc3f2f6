import { beforeEach, describe, expect, it } from "vitest";
import { domainFailure } from "../../../test/support/fakes/domain-failure.ts";
import { IdentityWorld, TEST_PASSWORD } from "../../../test/support/fakes/identity-world.ts";
import { MemoryServiceAccountRepository } from "../../../test/support/fakes/memory-service-account-repository.ts";
import { MemoryCoordinationStore } from "../../cache/memory-coordination-store.ts";
import { USER_ROLE } from "../roles/permissions.ts";
import { ServiceAccountService } from "../service-accounts/service-account-service.ts";
import type { User } from "../users/user.ts";
import { AuthService, type AuthSettings, type RequestInfo } from "./auth-service.ts";
import { SignInThrottle } from "./sign-in-throttle.ts";

const SETTINGS: AuthSettings = {
  signupEnabled: true,
  emailVerificationRequired: false,
  resetTokenTtlSeconds: 3600,
  emailVerificationTtlSeconds: 86_400,
  passwordResetUrl: "https://gatehouse.example/reset-password",
  emailVerificationUrl: "https://gatehouse.example/verify-email",
  clientId: "gatehouse",
};

const REQUEST: RequestInfo = { ip: "198.51.100.7", requestId: "request-1", userAgent: "unit-test" };

describe("AuthService", () => {
  let world: IdentityWorld;
  let now: number;
  let slept: number[];
  let serviceAccounts: ServiceAccountService;

  const auth = (settings: Partial<AuthSettings> = {}) =>
    new AuthService({
      settings: { ...SETTINGS, ...settings },
      users: world.users,
      userTokens: world.userTokens,
      accounts: world.accounts,
      provider: world.provider,
      serviceAccounts,
      throttle: new SignInThrottle({
        store: new MemoryCoordinationStore(),
        users: world.users,
        settings: { sourceThreshold: 5, accountThreshold: 5, lockoutSeconds: 900 },
        warn: () => {},
        now: () => now,
      }),
      passwordPolicy: world.passwordPolicy,
      mailer: world.mailer,
      audit: world.audit,
      changes: world.changes,
      now: () => now,
      sleep: async (ms) => {
        slept.push(ms);
      },
    });

  beforeEach(() => {
    world = new IdentityWorld();
    now = Date.parse("2026-12-01T10:00:00Z");
    world.userTokens.now = () => now;
    world.users.now = () => now;
    world.provider.now = () => now;
    slept = [];
    serviceAccounts = new ServiceAccountService({
      repository: new MemoryServiceAccountRepository(),
      revocations: world.revocations,
      changes: world.changes,
    });
  });

  const signUpInput = (username = "newcomer") => ({
    username,
    email: `${username}@example.test`,
    password: "Arrival-pass-451",
    firstName: "New",
    middleName: "",
    lastName: "Comer",
    phone: "",
  });
  const audited = (action: string) =>
    world.auditEvents.of(action).map((event) => [event.result, event.reason]);

  describe("sign-up", () => {
    it("creates an unverified account with the user role, at the provider and locally, audited", async () => {
      const { user, emailVerificationRequired } = await auth().signUp(signUpInput(), REQUEST);
      expect(user).toMatchObject({
        username: "newcomer",
        roles: [USER_ROLE],
        emailVerified: false,
        lastName: "Comer",
      });
      expect(emailVerificationRequired).toBe(false);
      expect(world.provider.accounts.get(user.id)?.password).toBe("Arrival-pass-451");
      expect(world.mailer.sent).toEqual([]);
      expect(world.auditEvents.of("auth.signup")[0]).toMatchObject({
        result: "success",
        actorId: user.id,
        targetId: user.id,
        ipAddress: REQUEST.ip,
      });
    });

    it("is refused when disabled, for weak passwords and for taken names, creating nothing", async () => {
      const disabled = await domainFailure(auth({ signupEnabled: false }).signUp(signUpInput(), REQUEST));
      expect([disabled.kind, disabled.reason]).toEqual(["failed_precondition", "signup_disabled"]);
      const weak = await domainFailure(auth().signUp({ ...signUpInput(), password: "newcomer" }, REQUEST));
      expect([weak.kind, weak.reason, weak.violations[0]?.field]).toEqual([
        "invalid_argument",
        "weak_password",
        "password",
      ]);
      expect(world.provider.accounts.size).toBe(0);
      await auth().signUp(signUpInput(), REQUEST);
      const taken = await domainFailure(auth().signUp(signUpInput(), REQUEST));
      expect([taken.kind, taken.reason]).toEqual(["already_exists", "user_exists"]);
      // The provider's copy of the clash is removed again.
      expect(world.provider.accounts.size).toBe(1);
      expect(audited("auth.signup")).toEqual([
        ["failure", "signup_disabled"],
        ["failure", "weak_password"],
        ["success", ""],
        ["failure", "user_exists"],
      ]);
    });

    it("mails a single-use verification link when verification is required; sign-in waits for it", async () => {
      const service = auth({ emailVerificationRequired: true });
      const { user, emailVerificationRequired } = await service.signUp(signUpInput(), REQUEST);
      expect(emailVerificationRequired).toBe(true);
      expect(world.mailer.sent).toHaveLength(1);
      const mail = world.mailer.sent[0]!;
      expect(mail).toMatchObject({ to: user.email, userId: user.id, purpose: "email_verification" });
      const token = world.mailer.tokenSentTo(user.email, "email_verification");
      expect(mail.text).toContain(`${SETTINGS.emailVerificationUrl}?token=${token}`);
      // Only the hash is stored.
      expect(world.userTokens.rows.some((row) => row.tokenHash === token)).toBe(false);

      const early = await domainFailure(
        service.login({ login: user.username, password: "Arrival-pass-451", totpCode: undefined }, REQUEST),
      );
      expect([early.kind, early.reason]).toEqual(["permission_denied", "email_not_verified"]);

      await service.verifyEmail(token, REQUEST);
      expect((await world.users.getUser(user.id))?.emailVerified).toBe(true);
      expect(world.provider.accounts.get(user.id)?.fields.emailVerified).toBe(true);
      expect(world.changes.announced).toContain(user.id);
      const again = await domainFailure(service.verifyEmail(token, REQUEST));
      expect([again.kind, again.reason, again.violations[0]?.field]).toEqual([
        "invalid_argument",
        "invalid_token",
        "token",
      ]);
      await service.login({ login: user.email, password: "Arrival-pass-451", totpCode: undefined }, REQUEST);
      expect(audited("auth.verify_email")).toEqual([
        ["success", ""],
        ["failure", "invalid_token"],
      ]);
    });

    it("lets the provider mail the verification itself when it does (Keycloak), storing no token", async () => {
      world.provider.mailsAccountActions();
      const { user } = await auth({ emailVerificationRequired: true }).signUp(signUpInput(), REQUEST);
      expect(world.provider.callsOf("sendAccountActionEmail")).toEqual([
        { id: user.id, detail: "email_verification" },
      ]);
      expect(world.mailer.sent).toEqual([]);
      expect(world.userTokens.rows).toEqual([]);
    });

    it("refuses an expired verification token", async () => {
      const service = auth({ emailVerificationRequired: true });
      const { user } = await service.signUp(signUpInput(), REQUEST);
      const token = world.mailer.tokenSentTo(user.email, "email_verification");
      now += SETTINGS.emailVerificationTtlSeconds * 1000 + 1;
      expect((await domainFailure(service.verifyEmail(token, REQUEST))).reason).toBe("invalid_token");
      expect((await world.users.getUser(user.id))?.emailVerified).toBe(false);
    });
  });

  describe("sign-in", () => {
    let member: User;
    beforeEach(async () => {
      member = await world.person();
    });
    const login = (totpCode?: string, password = TEST_PASSWORD) =>
      auth().login({ login: member.username, password, totpCode }, REQUEST);

    it("opens a session for the right password, stamps the sign-in and audits the session", async () => {
      const result = await login();
      if (!("tokens" in result)) throw new Error("expected tokens");
      expect(world.provider.sessions.get(result.tokens.sessionId)).toMatchObject({
        userId: member.id,
        ipAddress: REQUEST.ip,
        userAgent: REQUEST.userAgent,
        clientId: "gatehouse",
        methods: ["pwd"],
      });
      expect((await world.users.getUser(member.id))?.lastLoginAt).toEqual(new Date(now));
      expect(world.auditEvents.of("auth.login")[0]).toMatchObject({
        result: "success",
        actorId: member.id,
        targetKind: "session",
        targetId: result.tokens.sessionId,
      });
    });

    it("answers a wrong password and an unknown login alike", async () => {
      const wrong = await domainFailure(login(undefined, "Wrong-password-1"));
      const unknown = await domainFailure(
        auth().login({ login: "nobody", password: TEST_PASSWORD, totpCode: undefined }, REQUEST),
      );
      for (const error of [wrong, unknown]) {
        expect([error.kind, error.reason, error.message]).toEqual([
          "unauthenticated",
          "invalid_credentials",
          "the username or password is wrong",
        ]);
      }
      expect(world.provider.callsOf("startSession")).toEqual([]);
    });

    it("refuses a disabled account after checking its password", async () => {
      await world.users.update(member.id, { status: "disabled" });
      const error = await domainFailure(login());
      expect([error.kind, error.reason]).toEqual(["permission_denied", "account_disabled"]);
      expect(world.provider.callsOf("startSession")).toEqual([]);
    });

    describe("with MFA on", () => {
      let recoveryCodes: string[];
      beforeEach(() => {
        recoveryCodes = world.provider.enableMfa(member.id, "246810");
      });

      const challenge = async () => {
        const result = await login();
        if (!("mfaChallenge" in result)) throw new Error("expected an MFA challenge");
        return result.mfaChallenge;
      };

      it("answers the password with a challenge, audited as such, and no session", async () => {
        const mfa = await challenge();
        expect(mfa.methods).toEqual(["totp", "recovery_code"]);
        expect(world.provider.callsOf("startSession")).toEqual([]);
        expect(world.auditEvents.of("auth.login")[0]).toMatchObject({
          result: "success",
          details: { mfa: "challenge" },
        });
      });

      it("opens a pwd+otp session for the right code, once per challenge", async () => {
        const mfa = await challenge();
        const tokens = await auth().verifyMfa(
          { mfaToken: mfa.mfaToken, answer: { totpCode: "246810" } },
          REQUEST,
        );
        expect(world.provider.sessions.get(tokens.sessionId)?.methods).toEqual(["pwd", "otp"]);
        const replay = await domainFailure(
          auth().verifyMfa({ mfaToken: mfa.mfaToken, answer: { totpCode: "246810" } }, REQUEST),
        );
        expect([replay.kind, replay.reason]).toEqual(["unauthenticated", "invalid_mfa_token"]);
        expect(
          world.auditEvents.of("auth.verify_mfa").map((event) => [event.result, event.details.method]),
        ).toEqual([
          ["success", "totp"],
          ["failure", "totp"],
        ]);
      });

      it("accepts a recovery code once, as a pwd+mfa session", async () => {
        const [code] = recoveryCodes;
        const tokens = await auth().verifyMfa(
          { mfaToken: (await challenge()).mfaToken, answer: { recoveryCode: code! } },
          REQUEST,
        );
        expect(world.provider.sessions.get(tokens.sessionId)?.methods).toEqual(["pwd", "mfa"]);
        const reused = await domainFailure(
          auth().verifyMfa(
            { mfaToken: (await challenge()).mfaToken, answer: { recoveryCode: code! } },
            REQUEST,
          ),
        );
        expect([reused.kind, reused.reason]).toEqual(["unauthenticated", "invalid_recovery_code"]);
      });

      it("refuses a wrong code and ends the challenge after a few", async () => {
        const mfa = await challenge();
        const answer = (totpCode: string) =>
          auth().verifyMfa({ mfaToken: mfa.mfaToken, answer: { totpCode } }, REQUEST);
        for (let attempt = 0; attempt < 3; attempt++) {
          expect((await domainFailure(answer("000000"))).reason).toBe("invalid_otp");
        }
        expect((await domainFailure(answer("246810"))).reason).toBe("invalid_mfa_token");
        expect(world.provider.callsOf("startSession")).toEqual([]);
      });

      it("refuses an unknown challenge, and an account disabled since the password was checked", async () => {
        const unknown = await domainFailure(
          auth().verifyMfa({ mfaToken: "no-such-challenge", answer: { totpCode: "246810" } }, REQUEST),
        );
        expect([unknown.kind, unknown.reason, unknown.message]).toEqual([
          "unauthenticated",
          "invalid_mfa_token",
          "the MFA challenge is unknown, used or expired; sign in again",
        ]);
        const mfa = await challenge();
        await world.users.update(member.id, { status: "disabled" });
        const disabled = await domainFailure(
          auth().verifyMfa({ mfaToken: mfa.mfaToken, answer: { totpCode: "246810" } }, REQUEST),
        );
        expect(disabled.reason).toBe("account_disabled");
        expect(world.provider.callsOf("startSession")).toEqual([]);
      });

      it("takes the code up front: a session at once, or invalid_otp", async () => {
        const result = await login("246810");
        expect("tokens" in result && world.provider.sessions.get(result.tokens.sessionId)?.methods).toEqual([
          "pwd",
          "otp",
        ]);
        expect((await domainFailure(login("135790"))).reason).toBe("invalid_otp");
      });
    });
  });

  describe("forgotten passwords", () => {
    let member: User;
    beforeEach(async () => {
      member = await world.person({ emailVerified: false });
    });

    it("mails a single-use reset link to a known address; answers an unknown one the same, mailing nothing", async () => {
      await auth().forgotPassword("nobody@example.test", REQUEST);
      expect(world.mailer.sent).toEqual([]);
      await auth().forgotPassword(member.email.toUpperCase(), REQUEST);
      expect(world.mailer.sent.map((mail) => [mail.to, mail.purpose, mail.userId])).toEqual([
        [member.email, "password_reset", member.id],
      ]);
      const token = world.mailer.tokenSentTo(member.email, "password_reset");
      expect(world.mailer.sent[0]!.text).toContain(`${SETTINGS.passwordResetUrl}?token=${token}`);
      // Both answers wait out the same floor (the clock here does not move).
      expect(slept).toEqual([250, 250]);
      expect(world.auditEvents.of("auth.password_forgot").map((event) => event.targetId)).toEqual([
        "",
        member.id,
      ]);
    });

    it("mails nothing for a disabled account", async () => {
      await world.users.update(member.id, { status: "disabled" });
      await auth().forgotPassword(member.email, REQUEST);
      expect(world.mailer.sent).toEqual([]);
    });

    it("leaves the mail to a provider that sends its own (Keycloak)", async () => {
      world.provider.mailsAccountActions();
      await auth().forgotPassword(member.email, REQUEST);
      expect(world.provider.callsOf("sendAccountActionEmail")).toEqual([
        { id: member.id, detail: "password_reset" },
      ]);
      expect(world.mailer.sent).toEqual([]);
    });

    it("resets with the mailed token: new password, sessions ended, address verified, token spent", async () => {
      await world.provider.startSession(member, { ip: "", userAgent: "", clientId: "gatehouse" }, ["pwd"]);
      await auth().forgotPassword(member.email, REQUEST);
      const token = world.mailer.tokenSentTo(member.email, "password_reset");
      const weak = await domainFailure(
        auth().resetPassword({ resetToken: token, newPassword: "short" }, REQUEST),
      );
      expect([weak.reason, weak.violations[0]?.field]).toEqual(["weak_password", "new_password"]);

      // A rejected password did not use the token up.
      await auth().resetPassword({ resetToken: token, newPassword: "Reset-pass-2026" }, REQUEST);
      expect(world.provider.accounts.get(member.id)?.password).toBe("Reset-pass-2026");
      expect(await world.provider.listSessions(member.id)).toEqual([]);
      expect(world.provider.callsOf("endUserSessions").at(-1)).toEqual({
        id: member.id,
        detail: "password_reset",
      });
      expect((await world.users.getUser(member.id))?.emailVerified).toBe(true);
      expect(world.changes.announced).toContain(member.id);

      const reused = await domainFailure(
        auth().resetPassword({ resetToken: token, newPassword: "Another-pass-2026" }, REQUEST),
      );
      expect([reused.kind, reused.reason, reused.violations[0]?.field]).toEqual([
        "invalid_argument",
        "invalid_token",
        "reset_token",
      ]);
      expect(world.provider.accounts.get(member.id)?.password).toBe("Reset-pass-2026");
      expect(audited("auth.password_reset")).toEqual([
        ["failure", "weak_password"],
        ["success", ""],
        ["failure", "invalid_token"],
      ]);
    });

    it("voids an earlier link when a new one is mailed, and refuses expired ones", async () => {
      await auth().forgotPassword(member.email, REQUEST);
      const first = world.mailer.tokenSentTo(member.email, "password_reset");
      await auth().forgotPassword(member.email, REQUEST);
      const second = world.mailer.tokenSentTo(member.email, "password_reset");
      expect(second).not.toBe(first);
      expect(
        (
          await domainFailure(
            auth().resetPassword({ resetToken: first, newPassword: "Reset-pass-2026" }, REQUEST),
          )
        ).reason,
      ).toBe("invalid_token");
      now += SETTINGS.resetTokenTtlSeconds * 1000 + 1;
      expect(
        (
          await domainFailure(
            auth().resetPassword({ resetToken: second, newPassword: "Reset-pass-2026" }, REQUEST),
          )
        ).reason,
      ).toBe("invalid_token");
      expect(world.provider.accounts.get(member.id)?.password).toBe(TEST_PASSWORD);
    });
  });

  describe("client credentials", () => {
    it("issues a token for the right secret of an enabled account, audited as the service account", async () => {
      const { account, clientSecret } = await serviceAccounts.create({
        name: "billing-bot",
        description: "",
      });
      const tokens = await auth().clientCredentialsToken({ clientId: "billing-bot", clientSecret }, REQUEST);
      expect(tokens.accessToken).toBe(`service-${account.id}`);
      expect(tokens.refreshToken).toBe("");
      expect(world.auditEvents.of("auth.client_credentials")[0]).toMatchObject({
        result: "success",
        actorId: account.id,
        actorKind: "service_account",
        details: { client_id: "billing-bot" },
      });
    });

    it("answers a wrong secret, an unknown client and a disabled account alike: invalid_client", async () => {
      const { account, clientSecret } = await serviceAccounts.create({
        name: "billing-bot",
        description: "",
      });
      const attempts = [
        { clientId: "billing-bot", clientSecret: `${clientSecret}x` },
        { clientId: "nobody", clientSecret },
      ];
      for (const attempt of attempts) {
        const error = await domainFailure(auth().clientCredentialsToken(attempt, REQUEST));
        expect([error.kind, error.reason]).toEqual(["unauthenticated", "invalid_client"]);
      }
      await serviceAccounts.update(account.id, { disabled: true });
      const disabled = await domainFailure(
        auth().clientCredentialsToken({ clientId: "billing-bot", clientSecret }, REQUEST),
      );
      expect(disabled.reason).toBe("invalid_client");
      expect(world.provider.callsOf("issueServiceAccountToken")).toEqual([]);
    });
  });
});
