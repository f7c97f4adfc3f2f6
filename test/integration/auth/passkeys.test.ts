import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import {
  AUTH,
  fails,
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

describe.each(BACKENDS)("passkeys over the wire (%s)", (backend) => {
  let server: TestGatehouse;

  beforeAll(async () => {
    server = await startTestGatehouse({ backend, env: { ...IDENTITY_ENV, ISSUER } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const sessionMethods = async (sessionId: string): Promise<string[]> => {
    const rows = await server.gatehouse.dataSource.query(`SELECT auth_methods FROM sessions WHERE id = $1`, [
      sessionId,
    ]);
    return rows[0].auth_methods;
  };

  const register = (token: string, authenticator: SoftwareAuthenticator, name = "") =>
    registerPasskey(server.url, token, authenticator, name);
  const passwordless = async (authenticator: SoftwareAuthenticator) => ({
    tokens: await passkeySignIn(server.url, authenticator),
  });

  it("registers, lists, renames a passkey; signs in with it alone (amr hwk + user)", async () => {
    const user = await signUpAndLogin(server.url);
    const token = user.tokens.accessToken;
    const authenticator = new SoftwareAuthenticator({ origin: ISSUER });
    const begun = await ok(server.url, `${AUTH}/BeginPasskeyRegistration`, { name: "Laptop" }, token);
    const options = JSON.parse(begun.optionsJson);
    expect(options).toMatchObject({
      rp: { id: "gatehouse.test" },
      attestation: "none",
      excludeCredentials: [],
    });
    const { credentialJson } = authenticator.register(begun.optionsJson);
    const { passkey } = await ok(
      server.url,
      `${AUTH}/FinishPasskeyRegistration`,
      { ceremonyId: begun.ceremonyId, credentialJson },
      token,
    );
    expect(passkey).toMatchObject({ name: "Laptop", backupEligible: false, userVerified: true });
    expect(passkey.lastUseTime).toBeUndefined();
    expect((await ok(server.url, `${AUTH}/GetMe`, {}, token)).user.mfaEnabled).toBe(true);

    // A second registration excludes the first credential.
    const again = await ok(server.url, `${AUTH}/BeginPasskeyRegistration`, {}, token);
    expect(JSON.parse(again.optionsJson).excludeCredentials).toEqual([
      expect.objectContaining({ id: JSON.parse(credentialJson).id }),
    ]);

    const renamed = await ok(
      server.url,
      `${AUTH}/RenamePasskey`,
      { passkeyId: passkey.id, name: "Work laptop" },
      token,
    );
    expect(renamed.passkey.name).toBe("Work laptop");
    const listed = await ok(server.url, `${AUTH}/ListPasskeys`, {}, token);
    expect(listed.passkeys.map((p: { name: string }) => p.name)).toEqual(["Work laptop"]);

    const signedIn = await passwordless(authenticator);
    const me = await ok(server.url, `${AUTH}/GetMe`, {}, signedIn.tokens.accessToken);
    expect(me.user.id).toBe(user.id);
    expect(await sessionMethods(signedIn.tokens.sessionId)).toEqual(["hwk", "user"]);
    const used = (await ok(server.url, `${AUTH}/ListPasskeys`, {}, token)).passkeys[0];
    expect(used.lastUseTime).toBeDefined();
    // The sign-in is recorded after the passkey's use (both database clock times), not only at sign-up.
    const after = (await ok(server.url, `${USERS}/GetUser`, { userId: user.id }, await loginAdmin())).user;
    expect(Date.parse(after.lastLoginDate)).toBeGreaterThanOrEqual(Date.parse(used.lastUseTime));
  });

  async function loginAdmin() {
    return (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
  }

  it("a synced passkey signs in with swk; a ceremony answers once; a clone with a stale counter is refused", async () => {
    const user = await signUpAndLogin(server.url);
    const authenticator = new SoftwareAuthenticator({ origin: ISSUER, backupEligible: true, backedUp: true });
    await register(user.tokens.accessToken, authenticator);
    const clone = authenticator.clone();

    const begun = await ok(server.url, `${AUTH}/BeginPasskeySignIn`, {});
    const answer = authenticator.assert(begun.optionsJson);
    const first = await ok(server.url, `${AUTH}/FinishPasskeySignIn`, {
      ceremonyId: begun.ceremonyId,
      credentialJson: answer,
    });
    expect(await sessionMethods(first.tokens.sessionId)).toEqual(["swk", "user"]);
    expect(
      await fails(server.url, `${AUTH}/FinishPasskeySignIn`, {
        ceremonyId: begun.ceremonyId,
        credentialJson: answer,
      }),
    ).toMatchObject({ code: "not_found", reason: "ceremony_not_found" });

    // The clone's counter is the one the original had before its sign-in: not above the stored one.
    const next = await ok(server.url, `${AUTH}/BeginPasskeySignIn`, {});
    expect(
      await fails(server.url, `${AUTH}/FinishPasskeySignIn`, {
        ceremonyId: next.ceremonyId,
        credentialJson: clone.assert(next.optionsJson),
      }),
    ).toMatchObject({ code: "unauthenticated", reason: "counter_regressed" });
    const audit = await ok(
      server.url,
      `${USERS}/ListAuditEvents`,
      { action: "passkey.sign_in", actorId: user.id, pageSize: 10 },
      await loginAdmin(),
    );
    expect(
      audit.events.map((event: { result: string; reason?: string }) => [event.result, event.reason ?? ""]),
    ).toEqual([
      ["failure", "counter_regressed"],
      ["success", ""],
    ]);
    expect(JSON.stringify(audit.events)).not.toContain(begun.ceremonyId);
    // The original, whose counter moved on, still signs in.
    await passwordless(authenticator);
  });

  it("asks a user with a passkey for it after the password, even without TOTP (amr pwd, hwk, mfa)", async () => {
    const user = await signUpAndLogin(server.url);
    const authenticator = new SoftwareAuthenticator({ origin: ISSUER });
    const passkey = await register(user.tokens.accessToken, authenticator);
    const login = await ok(server.url, `${AUTH}/Login`, { login: user.username, password: user.password });
    expect(login.tokens).toBeUndefined();
    expect(login.mfaChallenge.methods).toEqual(["passkey"]);
    const mfaToken = login.mfaChallenge.mfaToken;
    const begun = await ok(server.url, `${AUTH}/BeginPasskeySignIn`, { mfaToken });
    const options = JSON.parse(begun.optionsJson);
    expect(options.allowCredentials.map((c: { id: string }) => c.id)).toEqual([
      [...authenticator.credentials.keys()][0],
    ]);
    expect(options.userVerification).toBe("preferred");
    // A TOTP code is no answer for a user without TOTP.
    expect(await fails(server.url, `${AUTH}/VerifyMfa`, { mfaToken, totpCode: "123456" })).toMatchObject({
      reason: "invalid_otp",
    });
    const done = await ok(server.url, `${AUTH}/FinishPasskeySignIn`, {
      ceremonyId: begun.ceremonyId,
      credentialJson: authenticator.assert(begun.optionsJson),
    });
    expect(await sessionMethods(done.tokens.sessionId)).toEqual(["pwd", "hwk", "mfa"]);
    // The MFA challenge is spent.
    expect(await fails(server.url, `${AUTH}/BeginPasskeySignIn`, { mfaToken })).toMatchObject({
      code: "unauthenticated",
      reason: "invalid_mfa_token",
    });

    // Removing the last second factor needs the password.
    const token = done.tokens.accessToken;
    expect(await fails(server.url, `${AUTH}/DeletePasskey`, { passkeyId: passkey.id }, token)).toMatchObject({
      code: "unauthenticated",
      reason: "reauthentication_required",
    });
    expect(
      await fails(
        server.url,
        `${AUTH}/DeletePasskey`,
        { passkeyId: passkey.id, password: "wrong-password-1" },
        token,
      ),
    ).toMatchObject({ code: "unauthenticated", reason: "invalid_credentials" });
    await ok(server.url, `${AUTH}/DeletePasskey`, { passkeyId: passkey.id, password: user.password }, token);
    expect((await ok(server.url, `${AUTH}/GetMe`, {}, token)).user.mfaEnabled).toBe(false);
    expect(
      (await ok(server.url, `${AUTH}/Login`, { login: user.username, password: user.password })).tokens,
    ).toBeDefined();
  });

  it("lists both methods for a user with TOTP and a passkey; removing one passkey of two needs no password", async () => {
    const user = await signUpAndLogin(server.url);
    const token = user.tokens.accessToken;
    await enrolTotp(server.url, token);
    const first = await register(token, new SoftwareAuthenticator({ origin: ISSUER }));
    await register(token, new SoftwareAuthenticator({ origin: ISSUER }));
    const login = await ok(server.url, `${AUTH}/Login`, { login: user.username, password: user.password });
    expect(login.mfaChallenge.methods).toEqual(["totp", "recovery_code", "passkey"]);
    await ok(server.url, `${AUTH}/DeletePasskey`, { passkeyId: first.id }, token);
    expect((await ok(server.url, `${AUTH}/ListPasskeys`, {}, token)).passkeys).toHaveLength(1);
  });

  it("refuses malformed credential JSON with INVALID_ARGUMENT naming the field", async () => {
    const user = await signUpAndLogin(server.url);
    const begun = await ok(server.url, `${AUTH}/BeginPasskeyRegistration`, {}, user.tokens.accessToken);
    for (const credentialJson of [
      "not json",
      "[]",
      '{"id":"abc"}',
      '{"id":"a b","type":"public-key","response":{}}',
    ]) {
      const failure = await fails(
        server.url,
        `${AUTH}/FinishPasskeyRegistration`,
        { ceremonyId: begun.ceremonyId, credentialJson },
        user.tokens.accessToken,
      );
      expect(failure).toMatchObject({ code: "invalid_argument", reason: "invalid_credential_json" });
      expect(JSON.stringify(failure.details)).toContain("credential_json");
    }
    const signIn = await ok(server.url, `${AUTH}/BeginPasskeySignIn`, {});
    const garbage = JSON.stringify({
      id: "AAAA",
      rawId: "AAAA",
      type: "public-key",
      response: { clientDataJSON: "!!", authenticatorData: "", signature: "" },
    });
    expect(
      await fails(server.url, `${AUTH}/FinishPasskeySignIn`, {
        ceremonyId: signIn.ceremonyId,
        credentialJson: garbage,
      }),
    ).toMatchObject({ code: "unauthenticated", reason: "unknown_credential" });
    expect(
      await fails(server.url, `${AUTH}/FinishPasskeySignIn`, { ceremonyId: "short", credentialJson: "{}" }),
    ).toMatchObject({ code: "invalid_argument" });
  });

  it("lets an administrator list and remove a user's passkeys, within the privilege ceiling", async () => {
    const admin = await loginAdmin();
    const user = await signUpAndLogin(server.url);
    const passkey = await register(
      user.tokens.accessToken,
      new SoftwareAuthenticator({ origin: ISSUER }),
      "Phone",
    );
    const listed = await ok(server.url, `${USERS}/ListUserPasskeys`, { userId: user.id }, admin);
    expect(listed.passkeys).toEqual([expect.objectContaining({ id: passkey.id, name: "Phone" })]);
    expect(JSON.stringify(listed)).not.toMatch(/publicKey|credentialId/);

    // A plain user holds no users.read.
    const other = await signUpAndLogin(server.url);
    expect(
      await fails(server.url, `${USERS}/ListUserPasskeys`, { userId: user.id }, other.tokens.accessToken),
    ).toMatchObject({ code: "permission_denied", reason: "missing_permission" });
    // The user cannot remove the administrator's passkeys: no users.write; nor may a lesser admin.
    const adminMe = await ok(server.url, `${AUTH}/GetMe`, {}, admin);
    expect(
      await fails(
        server.url,
        `${USERS}/DeleteUserPasskey`,
        { userId: adminMe.user.id, passkeyId: passkey.id },
        user.tokens.accessToken,
      ),
    ).toMatchObject({ code: "permission_denied", reason: "missing_permission" });

    await ok(server.url, `${USERS}/DeleteUserPasskey`, { userId: user.id, passkeyId: passkey.id }, admin);
    expect((await ok(server.url, `${USERS}/ListUserPasskeys`, { userId: user.id }, admin)).passkeys).toEqual(
      [],
    );
    expect(
      await fails(
        server.url,
        `${USERS}/DeleteUserPasskey`,
        { userId: user.id, passkeyId: passkey.id },
        admin,
      ),
    ).toMatchObject({ code: "not_found", reason: "passkey_not_found" });
    const audit = await ok(
      server.url,
      `${USERS}/ListAuditEvents`,
      { action: "passkey.", targetId: user.id },
      admin,
    );
    expect(audit.events.map((event: { action: string }) => event.action)).toContain("passkey.admin_delete");
  });
});
