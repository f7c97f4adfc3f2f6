import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import { freshTotpCode, ok, startMailCatcher, tokenInMail, uniqueName } from "../../support/identity.ts";
import {
  completeKeycloakPasswordReset,
  createTestRealm,
  ensureKeycloak,
  freshKeycloakTotp,
  type TestRealm,
} from "../../support/keycloak.ts";
import {
  AUTH_SERVICE,
  describeIdentityContract,
  type ProviderHarness,
  REGISTRY,
} from "./identity-contract.ts";

type MailCatcher = Awaited<ReturnType<typeof startMailCatcher>>;
const PASSWORD = "Correct-horse-battery-9";
const mailsTo = (catcher: MailCatcher | undefined, email: string) =>
  catcher?.mails.filter((mail) => mail.to.includes(email.toLowerCase())).length ?? 0;

/** The built-in provider: Gatehouse's own mail, TOTP enrolment and service-account secrets. */
function localHarness(): ProviderHarness {
  let catcher: MailCatcher | undefined;
  return {
    name: "local",
    backend: "embedded",
    async setup() {
      catcher = await startMailCatcher();
      // No grace window, so that a replayed refresh token is refused as Keycloak refuses it.
      return { SMTP_URL: catcher.url, REFRESH_GRACE_SECONDS: "0" };
    },
    async teardown() {
      await catcher?.close();
    },
    async mfaUser(gatehouse) {
      const username = uniqueName("otp");
      await ok(gatehouse.url, `${AUTH_SERVICE}/SignUp`, {
        username,
        email: `${username}@example.test`,
        password: PASSWORD,
        firstName: "Otp",
        lastName: "User",
      });
      const session = await ok(gatehouse.url, `${AUTH_SERVICE}/Login`, {
        login: username,
        password: PASSWORD,
      });
      const token = session.tokens.accessToken as string;
      const { secret } = await ok(gatehouse.url, `${AUTH_SERVICE}/EnrollTotp`, {}, token);
      const used = new Set<number>();
      await ok(gatehouse.url, `${AUTH_SERVICE}/ConfirmTotp`, { code: freshTotpCode(secret, used) }, token);
      return { login: username, password: PASSWORD, code: () => freshTotpCode(secret, used) };
    },
    async serviceAccount(gatehouse, adminToken) {
      const created = await ok(
        gatehouse.url,
        `${REGISTRY}/CreateServiceAccount`,
        { name: uniqueName("svc") },
        adminToken,
      );
      return {
        id: created.serviceAccount.id,
        clientId: created.serviceAccount.clientId,
        clientSecret: created.clientSecret,
      };
    },
    async resetPassword(gatehouse, email, newPassword) {
      const mail = await catcher!.waitFor((m) => m.to.includes(email.toLowerCase()));
      await ok(gatehouse.url, `${AUTH_SERVICE}/ResetPassword`, {
        resetToken: tokenInMail(mail),
        newPassword,
      });
    },
    mailCount: (email) => mailsTo(catcher, email),
    disabledSignInCode: "permission_denied",
    resetEndsSessions: true,
  };
}

/**
 * Keycloak: a realm of its own on the shared server, its SMTP server pointed
 * at this test's mail catcher; OTP users created in Keycloak with a known
 * secret (enrolment is Keycloak's browser flow); service accounts are
 * Keycloak clients registered in Gatehouse under the same client id.
 */
function keycloakHarness(): ProviderHarness {
  let catcher: MailCatcher | undefined;
  let realm: TestRealm | undefined;
  const client = { clientId: uniqueName("svc"), secret: randomBytes(24).toString("base64url") };
  return {
    name: "keycloak",
    backend: "embedded",
    async setup() {
      const keycloakUrl = await ensureKeycloak();
      catcher = await startMailCatcher();
      realm = await createTestRealm(keycloakUrl, {
        smtpPort: Number(new URL(catcher.url).port),
        extraClients: [client],
      });
      return realm.env;
    },
    async teardown() {
      await realm?.delete();
      await catcher?.close();
    },
    async mfaUser() {
      const username = uniqueName("otp");
      const otpSecret = randomBytes(20).toString("hex");
      await realm!.createUser({ username, email: `${username}@example.test`, password: PASSWORD, otpSecret });
      const used = new Set<number>();
      return { login: username, password: PASSWORD, code: () => freshKeycloakTotp(otpSecret, used) };
    },
    async serviceAccount(gatehouse, adminToken) {
      const created = await ok(
        gatehouse.url,
        `${REGISTRY}/CreateServiceAccount`,
        { name: client.clientId },
        adminToken,
      );
      return { id: created.serviceAccount.id, clientId: client.clientId, clientSecret: client.secret };
    },
    async resetPassword(_gatehouse, email, newPassword) {
      const mail = await catcher!.waitFor(
        (m) => m.to.includes(email.toLowerCase()) && m.text.includes("login-actions/action-token"),
      );
      expect(mail.raw).toMatch(/noreply@gatehouse\.local/);
      await completeKeycloakPasswordReset(mail.text, newPassword);
    },
    mailCount: (email) => mailsTo(catcher, email),
    disabledSignInCode: "unauthenticated",
    resetEndsSessions: false,
  };
}

describeIdentityContract(localHarness());
describeIdentityContract(keycloakHarness());
