import { randomBytes } from "node:crypto";
import type { HttpHandler } from "./http-handler.ts";

export const RESET_PASSWORD_PATH = "/reset-password";

/**
 * Seed 003's `GET /reset-password`: the page the mailed link opens when no
 * frontend of one's own is configured (PASSWORD_RESET_URL). It posts the token
 * and the new password to AuthService.ResetPassword as Connect JSON, exactly
 * as any browser client would; the token never leaves the page otherwise.
 */
export function resetPasswordPage(): HttpHandler {
  return (request, response) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.statusCode = 405;
      response.setHeader("allow", "GET, HEAD");
      response.end();
      return;
    }
    const nonce = randomBytes(16).toString("base64");
    response.statusCode = 200;
    response.setHeader("content-type", "text/html; charset=utf-8");
    response.setHeader("cache-control", "no-store");
    // The token is in the query string: keep it out of Referer headers and off other origins.
    response.setHeader("referrer-policy", "no-referrer");
    response.setHeader(
      "content-security-policy",
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'`,
    );
    if (request.method === "HEAD") response.end();
    else response.end(page(nonce));
  };
}

function page(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Reset your password — Gatehouse</title>
<style nonce="${nonce}">
body { font-family: system-ui, sans-serif; max-width: 24rem; margin: 4rem auto; padding: 0 1rem; }
label, input, button { display: block; width: 100%; box-sizing: border-box; margin: .5rem 0; }
input, button { padding: .5rem; font-size: 1rem; }
#status { min-height: 1.5rem; }
</style>
</head>
<body>
<h1>Reset your password</h1>
<form id="reset">
<label for="password">New password</label>
<input id="password" type="password" autocomplete="new-password" required minlength="8">
<label for="confirm">Repeat it</label>
<input id="confirm" type="password" autocomplete="new-password" required minlength="8">
<button type="submit">Set password</button>
</form>
<p id="status" role="status"></p>
<script nonce="${nonce}">
const token = new URLSearchParams(location.search).get("token") || "";
const status = document.getElementById("status");
document.getElementById("reset").addEventListener("submit", async (event) => {
  event.preventDefault();
  const password = document.getElementById("password").value;
  if (password !== document.getElementById("confirm").value) { status.textContent = "The passwords differ."; return; }
  const response = await fetch("/gatehouse.v1.AuthService/ResetPassword", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ resetToken: token, newPassword: password }),
  });
  const body = await response.json().catch(() => ({}));
  status.textContent = response.ok ? "Your password is set. You can sign in now." : (body.message || "That did not work.");
});
</script>
</body>
</html>
`;
}
