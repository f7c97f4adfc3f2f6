import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import { IDENTITY_ENV, signUpAndLogin } from "../../support/identity.ts";
import { formFields, HttpBrowser } from "../../support/oidc-browser.ts";
import { registerPasskey } from "../../support/passkey-ceremonies.ts";
import { SoftwareAuthenticator } from "../../support/software-authenticator.ts";
import { enrolTotp } from "../../support/totp-enrolment.ts";

const ISSUER = "http://gatehouse.test";

const ENTITIES: Record<string, string> = {
  "&quot;": '"',
  "&#61;": "=",
  "&#39;": "'",
  "&#96;": "`",
  "&lt;": "<",
  "&gt;": ">",
  "&amp;": "&",
};

/** The request options a passkey form carries (data-passkey-options, entity-decoded). */
function passkeyOptions(html: string): {
  challenge: string;
  allowCredentials?: unknown[];
  userVerification?: string;
} {
  const encoded = /data-passkey-options="([^"]*)"/.exec(html)?.[1];
  if (encoded === undefined) throw new Error(`no passkey form in:\n${html.slice(0, 2000)}`);
  return JSON.parse(encoded.replace(/&(quot|#61|#39|#96|lt|gt|amp);/g, (entity) => ENTITIES[entity]!));
}

/**
 * The hosted pages' passkey forms over plain HTTP, answered by a software authenticator: what the
 * page's script would post, posted by hand, so each answer the server gives the page is seen.
 */
describe("passkey sign-in on the hosted pages", () => {
  let server: TestGatehouse;
  let url: string;

  beforeAll(async () => {
    server = await startTestGatehouse({ backend: "embedded", env: { ...IDENTITY_ENV, ISSUER } });
    url = server.url;
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function userWithPasskey(authenticator: SoftwareAuthenticator) {
    const user = await signUpAndLogin(url);
    await registerPasskey(url, user.tokens.accessToken, authenticator, "Key");
    return user;
  }

  it("offers a passwordless ceremony begun for the page; its answer signs in once, and a replay is refused", async () => {
    const authenticator = new SoftwareAuthenticator({ origin: ISSUER });
    await userWithPasskey(authenticator);
    const browser = new HttpBrowser();
    const page = await browser.request(`${url}/signin`);
    const options = passkeyOptions(page.text);
    // Discoverable credentials, user verification required: nothing on the page names an account.
    expect(options.allowCredentials ?? []).toEqual([]);
    expect(options.userVerification).toBe("required");
    expect(page.text).toContain('autocomplete="username webauthn"');
    const form = formFields(page.text, "/signin/passkey");
    const answer = { ...form, credential_json: authenticator.assert(JSON.stringify(options)) };
    const signedIn = await browser.request(`${url}/signin/passkey`, { form: answer });
    expect(signedIn.status).toBe(200);
    expect(signedIn.text).toContain("You are signed in");
    expect(browser.setCookies.some((cookie) => cookie.startsWith("gatehouse_sso="))).toBe(true);

    // The same answer again: its ceremony is spent.
    const again = await browser.request(`${url}/signin`);
    const replay = await browser.request(`${url}/signin/passkey`, {
      form: { ...answer, csrf_token: formFields(again.text, "/signin/passkey").csrf_token! },
    });
    expect(replay.status).toBe(400);
    expect(replay.text).toContain("The passkey request expired or was already used");
  });

  it("refuses an answer for another origin with the one message, and offers no autofill after it", async () => {
    const authenticator = new SoftwareAuthenticator({ origin: ISSUER });
    await userWithPasskey(authenticator);
    const browser = new HttpBrowser();
    const page = await browser.request(`${url}/signin`);
    const refused = await browser.request(`${url}/signin/passkey`, {
      form: {
        ...formFields(page.text, "/signin/passkey"),
        credential_json: authenticator.assert(JSON.stringify(passkeyOptions(page.text)), {
          origin: "https://phishing.example",
        }),
      },
    });
    expect(refused.status).toBe(401);
    expect(refused.text).toContain("That passkey was not accepted");
    expect(refused.text).toContain('data-passkey-autofill="false"');
    // A fresh ceremony for the next try.
    expect(passkeyOptions(refused.text).challenge).not.toBe(passkeyOptions(page.text).challenge);
  });

  it("offers the passkey beside the TOTP code after the password, and keeps offering it after a wrong code", async () => {
    const authenticator = new SoftwareAuthenticator({ origin: ISSUER });
    const user = await userWithPasskey(authenticator);
    await enrolTotp(url, user.tokens.accessToken);
    const browser = new HttpBrowser();
    const signIn = await browser.request(`${url}/signin`);
    const mfa = await browser.submit(
      signIn.url,
      signIn.text,
      "/signin",
      { login: user.username, password: user.password },
      url,
    );
    expect(mfa.text).toContain("Two-step verification");
    expect(mfa.text).toContain('name="code"');
    expect(mfa.text).toContain("Use your passkey");
    const wrong = await browser.submit(mfa.url, mfa.text, "/signin/mfa", { code: "000000" }, url);
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain("Use your passkey");
    // The passkey answers for the challenge: the MFA step, not a passwordless sign-in.
    const options = passkeyOptions(wrong.text);
    expect((options.allowCredentials ?? []).length).toBe(1);
    const done = await browser.request(`${url}/signin/passkey`, {
      form: {
        ...formFields(wrong.text, "/signin/passkey"),
        credential_json: authenticator.assert(JSON.stringify(options)),
      },
    });
    expect(done.text).toContain("You are signed in");
  });
});

describe("hosted sign-in with passkeys off", () => {
  let server: TestGatehouse;

  beforeAll(async () => {
    server = await startTestGatehouse({
      backend: "embedded",
      env: { ...IDENTITY_ENV, ISSUER, PASSKEYS_ENABLED: "false" },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("shows no passkey form and loads no script; a posted answer is refused", async () => {
    const browser = new HttpBrowser();
    const page = await browser.request(`${server.url}/signin`);
    expect(page.text).not.toContain("data-passkey-options");
    expect(page.text).not.toMatch(/<script/);
    expect(page.text).toContain('autocomplete="username"');
    expect(page.headers.get("content-security-policy")).not.toContain("script-src");
    const refused = await browser.request(`${server.url}/signin/passkey`, {
      form: {
        ...formFields(page.text, "/signin"),
        ceremony_id: "c".repeat(32),
        credential_json: "{}",
      },
    });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain("Passkeys cannot be used here");
    // The account page and the console do not offer them either.
    const config = (await (await fetch(`${server.url}/console/config.json`)).json()) as {
      passkeys?: boolean;
    };
    expect(config.passkeys).toBe(false);
  });
});
