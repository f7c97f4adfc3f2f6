import { describe, expect, it } from "vitest";
import { DomainError } from "../../domain/errors.ts";
import { html } from "../pages/html.ts";
import { passkeyFailureMessage, passkeyForm } from "./passkey-form.ts";

describe("the hosted passkey form", () => {
  it("carries the options JSON in an attribute it cannot leave, with the CSRF token and the ceremony id", () => {
    const optionsJson = JSON.stringify({ challenge: 'x"><script>alert(1)</script>', rpId: "example.test" });
    const form = passkeyForm({
      ceremony: { ceremonyId: "c".repeat(32), optionsJson },
      csrfToken: "token-1",
      hidden: html`<input type="hidden" name="pending" value="p1">`,
      button: "Sign in with a passkey",
      autofill: true,
      separator: true,
    }).toString();
    expect(form).not.toContain("<script>");
    const attribute = /data-passkey-options="([^"]*)"/.exec(form)?.[1] ?? "";
    expect(attribute).toContain("&quot;challenge&quot;");
    expect(form).toContain('action="/signin/passkey"');
    expect(form).toContain('value="token-1"');
    expect(form).toContain(`name="ceremony_id" value="${"c".repeat(32)}"`);
    expect(form).toContain('data-passkey-autofill="true"');
    // Hidden until the script finds WebAuthn: without it there is nothing to press.
    expect(form).toMatch(/<form [^>]* hidden>/);
  });

  it("says the same for every refused passkey: which check failed is for the audit log", () => {
    const messages = ["passkey_verification_failed", "unknown_credential", "counter_regressed"].map(
      (reason) => passkeyFailureMessage(new DomainError("unauthenticated", reason, `the server's ${reason}`)),
    );
    expect(new Set(messages.map((shown) => shown?.message)).size).toBe(1);
    expect(messages[0]).toEqual({ status: 401, message: expect.stringContaining("not accepted") });
    expect(JSON.stringify(messages)).not.toMatch(/counter|unknown|signature/i);
  });

  it("leaves the expired MFA challenge and errors that are not about the passkey to the caller", () => {
    expect(
      passkeyFailureMessage(new DomainError("unauthenticated", "invalid_mfa_token", "expired")),
    ).toBeUndefined();
    expect(passkeyFailureMessage(new Error("boom"))).toBeUndefined();
    expect(
      passkeyFailureMessage(new DomainError("not_found", "ceremony_not_found", "used or expired"))?.message,
    ).toContain("expired");
  });
});
