import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import { AUTH, fails, IDENTITY_ENV, ok, signUpAndLogin } from "../../support/identity.ts";
import { registerPasskey } from "../../support/passkey-ceremonies.ts";
import { SoftwareAuthenticator } from "../../support/software-authenticator.ts";

const ISSUER = "http://gatehouse.test";
const SENSITIVE_LIMIT = 4;

/** The passkey sign-in spends Login's budgets: the sensitive rate limit, and the sign-in throttle. */
/** A server of its own per budget: one test's calls must not spend the other's. */
function serverWith(env: Record<string, string>): { readonly url: string } {
  let server: TestGatehouse | undefined;
  beforeAll(async () => {
    server = await startTestGatehouse({ backend: "postgres", env: { ...IDENTITY_ENV, ISSUER, ...env } });
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    get url() {
      return server!.url;
    },
  };
}

describe("passkey sign-in: the sensitive rate limit (PostgreSQL, Redis)", () => {
  const server = serverWith({ RATE_LIMIT_SENSITIVE_PER_MINUTE: String(SENSITIVE_LIMIT) });

  it("rate-limits FinishPasskeySignIn per ceremony like Login per account", async () => {
    const begun = await ok(server.url, `${AUTH}/BeginPasskeySignIn`, {});
    const attempt = () =>
      fails(server.url, `${AUTH}/FinishPasskeySignIn`, {
        ceremonyId: begun.ceremonyId,
        credentialJson: "{}",
      });
    for (let index = 0; index < SENSITIVE_LIMIT; index++) {
      expect((await attempt()).reason).toBe("invalid_credential_json");
    }
    expect(await attempt()).toMatchObject({ code: "resource_exhausted", reason: "rate_limited" });
  });
});

describe("passkey sign-in: the sign-in throttle (PostgreSQL, Redis)", () => {
  const server = serverWith({
    LOCKOUT_SOURCE_THRESHOLD: "2",
    LOCKOUT_THRESHOLD: "100",
    LOCKOUT_SECONDS: "600",
  });

  it("counts failed passkey answers: a source that failed too often waits, even with the right passkey", async () => {
    const user = await signUpAndLogin(server.url);
    const authenticator = new SoftwareAuthenticator({ origin: ISSUER });
    await registerPasskey(server.url, user.tokens.accessToken, authenticator);
    const signIn = async (knobs: { origin?: string } = {}) => {
      const begun = await ok(server.url, `${AUTH}/BeginPasskeySignIn`, {});
      return fails(server.url, `${AUTH}/FinishPasskeySignIn`, {
        ceremonyId: begun.ceremonyId,
        credentialJson: authenticator.assert(begun.optionsJson, knobs),
      });
    };
    for (let index = 0; index < 2; index++) {
      expect((await signIn({ origin: "http://phish.test" })).reason).toBe("passkey_verification_failed");
    }
    expect(await signIn()).toMatchObject({ code: "resource_exhausted", reason: "sign_in_throttled" });
  });
});
