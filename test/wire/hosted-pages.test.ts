import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../harness/free-port.ts";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";
import {
  AUTH,
  fails,
  IDENTITY_ENV,
  loginTokens,
  ok,
  startMailCatcher,
  TEST_ADMIN,
  tokenInMail,
  USERS,
  uniqueName,
} from "../support/identity.ts";
import { type FetchedPage, hiddenFields, PageClient, textOf } from "../support/page-client.ts";

const PAGES = [
  "/signup",
  "/forgot-password",
  "/reset-password?token=abcdefghijklmnopqrstuvwxyz",
  "/verify-email",
];

/** The link in a mail that starts with `prefix`. */
function linkInMail(text: string, prefix: string): string {
  const match = new RegExp(`${prefix.replace(/[.?]/g, "\\$&")}\\?token=[A-Za-z0-9_-]+`).exec(text);
  if (match === null) throw new Error(`no ${prefix} link in:\n${text}`);
  return match[0];
}

const csrfTokenOf = (page: FetchedPage) => hiddenFields(page.html).csrf_token ?? "";

describe("hosted account pages over HTTP (PostgreSQL, Redis, real SMTP)", () => {
  let server: TestGatehouse;
  let mail: Awaited<ReturnType<typeof startMailCatcher>>;
  let issuer: string;
  let adminToken: string;

  beforeAll(async () => {
    mail = await startMailCatcher();
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    server = await startTestGatehouse({
      backend: "postgres",
      env: {
        ...IDENTITY_ENV,
        PORT: String(port),
        ISSUER: issuer,
        SMTP_URL: mail.url,
        EMAIL_VERIFICATION_REQUIRED: "true",
        BRANDING_PRODUCT_NAME: "Acme <Cloud>",
        BRANDING_ACCENT_COLOR: "#0b6e4f",
      },
    });
    adminToken = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
  });
  afterAll(async () => {
    await server?.stop();
    await mail?.close();
  });

  async function verifiedUser() {
    const username = uniqueName("pages");
    const email = `${username}@example.test`;
    const password = "Original-pass-123";
    await ok(
      server.url,
      `${USERS}/CreateUser`,
      { username, email, password, emailVerified: true, profile: { firstName: "P" } },
      adminToken,
    );
    return { username, email, password };
  }

  describe("security headers", () => {
    it.each(PAGES)("%s: strict CSP, no framing, no sniffing, no caching, no Referer", async (path) => {
      const page = await new PageClient(server.url).get(path);
      expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
      const csp = page.headers.get("content-security-policy") ?? "";
      const directives = new Map(
        csp.split(";").map((part) => {
          const [name, ...values] = part.trim().split(/\s+/);
          return [name!, values.join(" ")];
        }),
      );
      expect(directives.get("default-src")).toBe("'none'");
      expect(directives.get("style-src")).toBe("'self'");
      expect(directives.get("frame-ancestors")).toBe("'none'");
      expect(directives.get("form-action")).toBe("'self'");
      expect(directives.get("base-uri")).toBe("'none'");
      expect(directives.has("script-src")).toBe(false);
      expect(csp).not.toContain("unsafe");
      expect(page.headers.get("x-frame-options")).toBe("DENY");
      expect(page.headers.get("x-content-type-options")).toBe("nosniff");
      expect(page.headers.get("cache-control")).toBe("no-store");
      expect(page.headers.get("referrer-policy")).toBe("no-referrer");
      // No inline style or script for the policy to refuse.
      expect(page.html).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=/i);
    });

    it("serves the stylesheet from our origin under a content hash, cached for a year", async () => {
      const page = await new PageClient(server.url).get("/signup");
      const href = /<link rel="stylesheet" href="(\/assets\/pages-[0-9a-f]{16}\.css)">/.exec(page.html)?.[1];
      expect(href).toBeDefined();
      const css = await fetch(`${server.url}${href}`);
      expect(css.status).toBe(200);
      expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
      expect(css.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(await css.text()).toContain("--accent: #0b6e4f;");
      expect((await fetch(`${server.url}/assets/pages-0000000000000000.css`)).status).not.toBe(200);
      const post = await fetch(`${server.url}${href}`, { method: "POST" });
      expect(post.status).toBe(405);
      expect(post.headers.get("allow")).toBe("GET, HEAD");
    });

    it("answers HEAD with the headers only, and other methods with 405 and Allow", async () => {
      const head = await fetch(`${server.url}/forgot-password`, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(await head.text()).toBe("");
      const put = await fetch(`${server.url}/signup`, { method: "PUT" });
      expect(put.status).toBe(405);
      expect(put.headers.get("allow")).toBe("GET, HEAD, POST");
      const post = await fetch(`${server.url}/verify-email`, { method: "POST" });
      expect(post.status).toBe(405);
      expect(post.headers.get("allow")).toBe("GET, HEAD");
      const jwks = await fetch(`${server.url}/.well-known/jwks.json`, { method: "POST" });
      expect(jwks.status).toBe(405);
      expect(jwks.headers.get("allow")).toBe("GET, HEAD");
    });

    it("escapes the configured product name like every other value", async () => {
      const page = await new PageClient(server.url).get("/forgot-password");
      expect(page.html).toContain("<title>Forgot your password? — Acme &lt;Cloud&gt;</title>");
      expect(page.html).not.toContain("<Cloud>");
    });
  });

  describe("CSRF on every form POST", () => {
    it.each(["/signup", "/forgot-password", "/reset-password"])(
      "%s refuses a POST without the token, with a wrong one, or with another browser's",
      async (path) => {
        const victim = new PageClient(server.url);
        await victim.get(path === "/reset-password" ? `${path}?token=abcdefghijklmnopqrstuvwxyz` : path);
        const attacker = new PageClient(server.url);
        const attackerToken = csrfTokenOf(
          await attacker.get(path === "/reset-password" ? `${path}?token=abcdefghijklmnopqrstuvwxyz` : path),
        );
        expect(attackerToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
        for (const token of [undefined, "", "x".repeat(43), attackerToken]) {
          const fields: Record<string, string> = { email: "someone@example.test" };
          if (token !== undefined) fields.csrf_token = token;
          const refused = await victim.post(path, fields);
          expect(refused.status).toBe(403);
          expect(refused.html).toContain("This form has expired");
        }
        // Without any cookie at all (a cross-site POST from a fresh browser).
        expect((await new PageClient(server.url).post(path, { csrf_token: attackerToken })).status).toBe(403);
      },
    );

    it("a forged sign-up creates no account and a forged forgot-password sends no mail", async () => {
      const username = uniqueName("forged");
      const browser = new PageClient(server.url);
      await browser.get("/signup");
      const forged = await browser.post("/signup", {
        username,
        email: `${username}@example.test`,
        first_name: "F",
        last_name: "G",
        password: "Forged-account-pass-1",
      });
      expect(forged.status).toBe(403);
      expect(
        (await fails(server.url, `${AUTH}/Login`, { login: username, password: "Forged-account-pass-1" }))
          .reason,
      ).toBe("invalid_credentials");
      const user = await verifiedUser();
      await browser.get("/forgot-password");
      expect((await browser.post("/forgot-password", { email: user.email })).status).toBe(403);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(mail.mails.some((m) => m.to.includes(user.email))).toBe(false);
    });

    it("accepts on one replica a form another replica served (the key is shared through Redis)", async () => {
      const replica = await startTestGatehouse({
        backend: "postgres",
        shareWith: server,
        env: { PORT: "0" },
      });
      try {
        const user = await verifiedUser();
        const browser = new PageClient(server.url);
        const form = await browser.get("/forgot-password");
        const other = new PageClient(replica.url);
        other.setCookie("gatehouse_csrf", browser.cookie("gatehouse_csrf")!);
        const sent = await other.post("/forgot-password", { ...hiddenFields(form.html), email: user.email });
        expect(sent.status).toBe(200);
        await mail.waitFor((m) => m.to.includes(user.email));
      } finally {
        await replica.stop();
      }
    });

    it("refuses a form that is not urlencoded", async () => {
      const response = await fetch(`${server.url}/signup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      expect(response.status).toBe(415);
    });
  });

  describe("sign-up", () => {
    it("creates the user through SignUp, mails the verification link, and the link's page verifies the email", async () => {
      const username = uniqueName("signup");
      const email = `${username}@example.test`;
      const password = "Signed-up-pass-123";
      const browser = new PageClient(server.url);
      const form = await browser.get("/signup");
      expect(form.status).toBe(200);
      expect(form.html).toContain("At least 10 characters");
      const done = await browser.submit(form, {
        username,
        email,
        first_name: "Ada",
        last_name: "Lovelace",
        password,
      });
      expect(done.status).toBe(200);
      expect(done.html).toContain("Check your mail");

      // Email not verified yet: sign-in is refused, as EMAIL_VERIFICATION_REQUIRED says.
      expect((await fails(server.url, `${AUTH}/Login`, { login: username, password })).reason).toBe(
        "email_not_verified",
      );
      const message = await mail.waitFor((m) => m.to.includes(email));
      const link = linkInMail(message.text, `${issuer}/verify-email`);
      expect(link).toContain(tokenInMail(message));

      const verified = await browser.get(link);
      expect(verified.status).toBe(200);
      expect(verified.html).toContain("Your email address is confirmed");
      await loginTokens(server.url, username, password);

      const again = await browser.get(link);
      expect(again.status).toBe(400);
      expect(again.html).toContain("the verification token is unknown, used or expired".replace(/^t/, "T"));
    });

    it("shows the server's message next to each field, tied to it, and keeps what was typed (escaped)", async () => {
      const browser = new PageClient(server.url);
      const form = await browser.get("/signup");
      const refused = await browser.submit(form, {
        username: "x",
        email: "not-an-email",
        first_name: '<script>alert("x")</script>',
        last_name: "L",
        password: "short",
      });
      expect(refused.status).toBe(400);
      for (const name of ["username", "email", "password"]) {
        const input = new RegExp(`<input id="field-${name}"[^>]*>`).exec(refused.html)?.[0] ?? "";
        expect(input).toContain('aria-invalid="true"');
        expect(input).toContain(`field-${name}-error`);
        expect(textOf(refused.html, `field-${name}-error`)).not.toBe("");
      }
      expect(textOf(refused.html, "field-password-error")).toContain("at least 8 characters");
      // The summary lists the problems in the form's order.
      const summary = /<div class="summary"[\s\S]*?<\/div>/.exec(refused.html)?.[0] ?? "";
      const order = ["email", "username", "password"].map((name) => summary.indexOf(`#field-${name}`));
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(order[0]).toBeGreaterThan(0);
      expect(refused.html).toContain('href="#field-email"');
      expect(refused.html).toContain('value="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"');
      expect(refused.html).not.toContain("<script>");
      // The password never comes back.
      expect(refused.html).not.toContain('value="short"');
    });

    it("applies the domain's password policy and refuses a taken username with the domain's message", async () => {
      const browser = new PageClient(server.url);
      const username = uniqueName("policy");
      const weak = await browser.submit(await browser.get("/signup"), {
        username,
        email: `${username}@example.test`,
        first_name: "P",
        last_name: "Q",
        password: "password123",
      });
      expect(weak.status).toBe(400);
      expect(textOf(weak.html, "field-password-error")).toContain("is too common");

      const taken = await browser.submit(await browser.get("/signup"), {
        username: TEST_ADMIN.username,
        email: `${uniqueName("taken")}@example.test`,
        first_name: "T",
        last_name: "U",
        password: "Taken-name-pass-123",
      });
      expect(taken.status).toBe(409);
      expect(taken.html).toContain('class="summary"');
    });

    it("carries return_to to the sign-in link only when it stays on our origin", async () => {
      const browser = new PageClient(server.url);
      const safe = await browser.get("/signup?return_to=%2Fauthorize%3Fclient_id%3Dconsole");
      expect(safe.html).toContain('href="/signin?return_to&#61;%2Fauthorize%3Fclient_id%3Dconsole"');
      for (const evil of [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
      ]) {
        const page = await browser.get(`/signup?return_to=${encodeURIComponent(evil)}`);
        expect(page.html).toContain('href="/signin"');
        expect(page.html).not.toContain("evil.example");
        expect(page.html).not.toContain("javascript:");
      }
    });
  });

  describe("forgot and reset password", () => {
    it("mails the link through SMTP; its page resets the password, and the new one signs in", async () => {
      const user = await verifiedUser();
      const session = await loginTokens(server.url, user.username, user.password);
      const browser = new PageClient(server.url);
      const sent = await browser.submit(await browser.get("/forgot-password"), { email: user.email });
      expect(sent.status).toBe(200);
      expect(sent.html).toContain("Check your mail");

      const message = await mail.waitFor((m) => m.to.includes(user.email));
      const link = linkInMail(message.text, `${issuer}/reset-password`);
      const form = await browser.get(link);
      expect(form.status).toBe(200);
      expect(hiddenFields(form.html).reset_token).toBe(tokenInMail(message));

      // A weak password: the server's message by the field, and the token is not used up.
      const weak = await browser.submit(form, {
        new_password: "password123",
        confirm_password: "password123",
      });
      expect(weak.status).toBe(400);
      expect(textOf(weak.html, "field-new_password-error")).toContain("is too common");
      const differ = await browser.submit(form, {
        new_password: "Brand-new-pass-456",
        confirm_password: "x",
      });
      expect(textOf(differ.html, "field-confirm_password-error")).toBe("the two passwords differ");

      const done = await browser.submit(form, {
        new_password: "Brand-new-pass-456",
        confirm_password: "Brand-new-pass-456",
      });
      expect(done.status).toBe(200);
      expect(done.html).toContain("Your password is set");
      await loginTokens(server.url, user.username, "Brand-new-pass-456");
      expect(
        (await fails(server.url, `${AUTH}/Login`, { login: user.username, password: user.password })).reason,
      ).toBe("invalid_credentials");
      expect((await fails(server.url, `${AUTH}/GetMe`, {}, session.accessToken)).reason).toBe(
        "session_revoked",
      );

      // The link works once.
      const reused = await browser.submit(form, {
        new_password: "Another-pass-789",
        confirm_password: "Another-pass-789",
      });
      expect(reused.status).toBe(400);
      expect(reused.html).toContain("The reset token is unknown, used or expired.");
    });

    it("answers an unknown address exactly like a known one, and mails nothing", async () => {
      const nobody = `${uniqueName("nobody")}@example.test`;
      const user = await verifiedUser();
      const browser = new PageClient(server.url);
      const unknown = await browser.submit(await browser.get("/forgot-password"), { email: nobody });
      const known = await browser.submit(await browser.get("/forgot-password"), { email: user.email });
      expect(unknown.status).toBe(known.status);
      expect(unknown.html.replace(nobody, "ADDRESS")).toBe(known.html.replace(user.email, "ADDRESS"));
      await mail.waitFor((m) => m.to.includes(user.email));
      expect(mail.mails.some((m) => m.to.includes(nobody))).toBe(false);
    });

    it("explains an incomplete link instead of showing a form", async () => {
      const page = await new PageClient(server.url).get("/reset-password");
      expect(page.status).toBe(400);
      expect(page.html).toContain("This reset link does not work");
      expect(page.html).not.toContain("<form");
    });
  });
});

describe("hosted pages: rate limits shared with the RPCs, sign-up off", () => {
  let server: TestGatehouse;

  beforeAll(async () => {
    server = await startTestGatehouse({
      backend: "postgres",
      env: {
        ...IDENTITY_ENV,
        RATE_LIMIT_SENSITIVE_PER_MINUTE: "2",
        SIGNUP_ENABLED: "false",
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("counts the form against ForgotPassword's budget: two RPC calls, then the form is refused (429)", async () => {
    const email = `${uniqueName("limited")}@example.test`;
    await ok(server.url, `${AUTH}/ForgotPassword`, { email });
    await ok(server.url, `${AUTH}/ForgotPassword`, { email: email.toUpperCase() });
    const browser = new PageClient(server.url);
    const refused = await browser.submit(await browser.get("/forgot-password"), { email });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(refused.html).toMatch(/Too many requests; retry in \d+ s\./);
    expect((await fails(server.url, `${AUTH}/ForgotPassword`, { email })).code).toBe("resource_exhausted");
  });

  it("serves no sign-up page when sign-up is disabled", async () => {
    expect((await new PageClient(server.url).get("/signup")).status).toBe(404);
  });
});
