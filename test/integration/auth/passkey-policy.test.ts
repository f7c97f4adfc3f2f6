import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import {
  AUTH,
  fails,
  freshTotpCode,
  IDENTITY_ENV,
  loginTokens,
  ok,
  signUpAndLogin,
  TEST_ADMIN,
  USERS,
} from "../../support/identity.ts";
import { passkeySignIn, registerPasskey } from "../../support/passkey-ceremonies.ts";
import { SoftwareAuthenticator } from "../../support/software-authenticator.ts";
import { enrolTotp } from "../../support/totp-enrolment.ts";

const ISSUER = "http://gatehouse.test";

/** ADMIN_SECOND_FACTOR, and a ceremony begun on one replica finished on another (shared Redis). */
describe("passkeys with ADMIN_SECOND_FACTOR=passkey, two replicas on PostgreSQL and Redis", () => {
  let first: TestGatehouse;
  let second: TestGatehouse;

  beforeAll(async () => {
    first = await startTestGatehouse({
      backend: "postgres",
      env: { ...IDENTITY_ENV, ISSUER, ADMIN_SECOND_FACTOR: "passkey" },
    });
    second = await startTestGatehouse({ backend: "postgres", shareWith: first });
  });
  afterAll(async () => {
    await second?.stop();
    await first?.stop();
  });

  it("refuses administration to a session without a passkey, lets it enrol one, then allows it", async () => {
    const password = await loginTokens(first.url, TEST_ADMIN.username, TEST_ADMIN.password);
    // The account's own calls work, and so do the decision's (VerifyToken is not an admin permission).
    const me = await ok(first.url, `${AUTH}/GetMe`, {}, password.accessToken);
    expect(me.permissions).toContain("users.read");
    expect((await ok(first.url, `${AUTH}/VerifyToken`, { token: password.accessToken })).user.id).toBe(
      me.user.id,
    );
    expect(await fails(first.url, `${USERS}/ListUsers`, {}, password.accessToken)).toMatchObject({
      code: "permission_denied",
      reason: "second_factor_required",
    });

    // TOTP is a second factor, but not the one this policy asks for.
    const totp = await enrolTotp(first.url, password.accessToken);
    const withTotp = await ok(first.url, `${AUTH}/Login`, {
      login: TEST_ADMIN.username,
      password: TEST_ADMIN.password,
      totpCode: freshTotpCode(totp.secret, totp.used),
    });
    expect(await fails(first.url, `${USERS}/ListUsers`, {}, withTotp.tokens.accessToken)).toMatchObject({
      reason: "second_factor_required",
    });

    // Registration begun on one replica, finished on the other.
    const authenticator = new SoftwareAuthenticator({ origin: ISSUER });
    const begun = await ok(
      first.url,
      `${AUTH}/BeginPasskeyRegistration`,
      { name: "Admin key" },
      password.accessToken,
    );
    const { credentialJson } = authenticator.register(begun.optionsJson);
    await ok(
      second.url,
      `${AUTH}/FinishPasskeyRegistration`,
      { ceremonyId: begun.ceremonyId, credentialJson },
      password.accessToken,
    );

    // Password + passkey as the MFA step, begun on the second replica and finished on the first.
    const login = await ok(second.url, `${AUTH}/Login`, {
      login: TEST_ADMIN.username,
      password: TEST_ADMIN.password,
    });
    expect(login.mfaChallenge.methods).toEqual(["totp", "recovery_code", "passkey"]);
    const signIn = await ok(second.url, `${AUTH}/BeginPasskeySignIn`, {
      mfaToken: login.mfaChallenge.mfaToken,
    });
    const answer = authenticator.assert(signIn.optionsJson);
    const done = await ok(first.url, `${AUTH}/FinishPasskeySignIn`, {
      ceremonyId: signIn.ceremonyId,
      credentialJson: answer,
    });
    const users = await ok(second.url, `${USERS}/ListUsers`, {}, done.tokens.accessToken);
    expect(users.users.length).toBeGreaterThan(0);
    // The ceremony was used on the first replica: the second does not take it again.
    expect(
      await fails(second.url, `${AUTH}/FinishPasskeySignIn`, {
        ceremonyId: signIn.ceremonyId,
        credentialJson: answer,
      }),
    ).toMatchObject({ code: "not_found", reason: "ceremony_not_found" });

    // Passwordless sign-in counts as a passkey session too.
    const alone = await passkeySignIn(second.url, authenticator, { finishUrl: first.url });
    await ok(first.url, `${USERS}/ListUsers`, {}, alone.accessToken);
    // Replicas racing to finish one ceremony over Redis: one session. A counterless passkey (as
    // synced ones are), so that only the ceremony's single use can refuse the others.
    const user = await signUpAndLogin(first.url);
    const counterless = new SoftwareAuthenticator({ origin: ISSUER, counterStep: 0 });
    await registerPasskey(first.url, user.tokens.accessToken, counterless);
    const raced = await ok(first.url, `${AUTH}/BeginPasskeySignIn`, {});
    const racedAnswer = counterless.assert(raced.optionsJson);
    const body = { ceremonyId: raced.ceremonyId, credentialJson: racedAnswer };
    const outcomes = await Promise.allSettled([
      ok(first.url, `${AUTH}/FinishPasskeySignIn`, body),
      ok(second.url, `${AUTH}/FinishPasskeySignIn`, body),
      ok(second.url, `${AUTH}/FinishPasskeySignIn`, body),
    ]);
    expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
    // And the password-only session is still refused.
    expect((await fails(second.url, `${USERS}/ListUsers`, {}, password.accessToken)).reason).toBe(
      "second_factor_required",
    );
  });
});
