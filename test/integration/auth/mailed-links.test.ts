import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import { AUTH, IDENTITY_ENV, ok, startMailCatcher, uniqueName } from "../../support/identity.ts";

const ISSUER = "https://id.gatehouse.test";

/**
 * The links Gatehouse mails point at the public issuer, not at the process's
 * own port (which behind an ingress no browser can reach): found tried as a
 * new user would (#13). Neither PASSWORD_RESET_URL nor EMAIL_VERIFICATION_URL
 * is set here, so these are the defaults.
 */
describe("mailed links default to the issuer (embedded)", () => {
  let server: TestGatehouse;
  let mail: Awaited<ReturnType<typeof startMailCatcher>>;

  beforeAll(async () => {
    mail = await startMailCatcher();
    server = await startTestGatehouse({
      backend: "embedded",
      env: { ...IDENTITY_ENV, ISSUER, SMTP_URL: mail.url, EMAIL_VERIFICATION_REQUIRED: "true" },
    });
  });
  afterAll(async () => {
    await server?.stop();
    await mail?.close();
  });

  const linkIn = (text: string, path: string) =>
    new RegExp(`https?://[^\\s"<>]+${path}\\?token=[A-Za-z0-9_-]{43}`).exec(text)?.[0];

  it("mails the verification and reset links under ISSUER", async () => {
    const username = uniqueName("mailed");
    const email = `${username}@example.test`;
    await ok(server.url, `${AUTH}/SignUp`, {
      username,
      email,
      password: "Mailed-links-pass-1",
      firstName: "Mailed",
      lastName: "Links",
    });
    const verification = await mail.waitFor((m) => m.to.includes(email) && m.text.includes("verify-email"));
    expect(linkIn(verification.text, "/verify-email")).toMatch(
      new RegExp(`^${ISSUER}/verify-email\\?token=`),
    );

    await ok(server.url, `${AUTH}/ForgotPassword`, { email });
    const reset = await mail.waitFor((m) => m.to.includes(email) && m.text.includes("reset-password"));
    expect(linkIn(reset.text, "/reset-password")).toMatch(new RegExp(`^${ISSUER}/reset-password\\?token=`));
    expect(reset.text).not.toContain(`localhost:${server.port}`);
  });
});
