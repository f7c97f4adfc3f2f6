import type { LoginResult } from "../../domain/auth/auth-service.ts";
import { isDomainError } from "../../domain/errors.ts";
import type { PendingAuthorization } from "../../domain/oidc/openid-provider.ts";
import { callLimits } from "../../domain/rate-limit/call-limits.ts";
import type { HttpHandler, HttpRequest, HttpResponse } from "../http-handler.ts";
import { csrfInput } from "../pages/csrf.ts";
import { errorSummary, FocusPlan, type FormErrors, field, NO_ERRORS, submitButton } from "../pages/form.ts";
import { html } from "../pages/html.ts";
import { pageRoute } from "../pages/page-route.ts";
import { safeReturnTo } from "../pages/return-to.ts";
import { MFA_PATH, type OidcHttpDeps, requesterOf, SIGN_IN_PATH, sendOutcome } from "./oidc-http.ts";
import {
  type BegunPasskeyCeremony,
  PASSKEY_SIGN_IN_PATH,
  passkeyFailureMessage,
  passkeyForm,
} from "./passkey-form.ts";

const LOGIN_LABELS = new Map([
  ["login", "Username or email"],
  ["password", "Password"],
]);
const MFA_LABELS = new Map([["code", "Code"]]);

/**
 * Why the person signs in: an authorization request waiting (`pending`), or
 * directly (a link from another hosted page), then back to a path on our own
 * origin (`return_to`, only a safe one) or a "signed in" page.
 */
type Flow =
  | { readonly kind: "authorize"; readonly pendingId: string; readonly pending: PendingAuthorization }
  | { readonly kind: "direct"; readonly returnTo: string | undefined };

/** The messages a person sees: what to do, never whether the account exists. */
function messageOf(error: unknown): { status: number; message: string } | undefined {
  if (!isDomainError(error)) return undefined;
  switch (error.kind) {
    case "unauthenticated":
      return {
        status: 401,
        message:
          error.reason === "invalid_mfa_token"
            ? "This sign-in has expired. Start again."
            : error.reason === "invalid_otp" || error.reason === "invalid_recovery_code"
              ? "That code is wrong, or was used already."
              : "The username or password is wrong.",
      };
    case "resource_exhausted":
      return {
        status: 429,
        message: `Too many attempts. Try again in ${Math.max(1, Math.ceil((error.retryAfterMs ?? 60_000) / 60_000))} minute(s), or reset your password.`,
      };
    case "permission_denied":
      return { status: 403, message: `${error.message.charAt(0).toUpperCase() + error.message.slice(1)}.` };
    default:
      return undefined;
  }
}

/** The MFA challenge's methods ride along the MFA forms, so a re-rendered page still offers the passkey. */
const offersPasskey = (methods: string | null | undefined) => (methods ?? "").split(" ").includes("passkey");

/**
 * The hosted sign-in (GET/POST /signin) and its second step (POST
 * /signin/mfa), and a passkey instead of either (POST /signin/passkey:
 * a passwordless sign-in, or the MFA step when the form carries the
 * challenge's mfa_token). Both call AuthService.login / verifyMfa — the very code
 * behind the Login and VerifyMfa RPCs, with their lockout, throttling and
 * audit events — after spending the same rate-limit budgets as those RPCs
 * (the same keys: a form is no way around them). A sign-in opens a Gatehouse
 * session; the SSO cookie names it, and the authorization request carries on.
 */
export function signInRoutes(deps: OidcHttpDeps): Array<[string, HttpHandler]> {
  const { shell } = deps;

  async function flowOf(
    response: HttpResponse,
    request: HttpRequest,
    values: { get(name: string): string | null | undefined },
  ): Promise<Flow | undefined> {
    const pendingId = values.get("pending");
    if (pendingId === null || pendingId === undefined || pendingId === "") {
      return { kind: "direct", returnTo: safeReturnTo(values.get("return_to")) };
    }
    const pending = await deps.oidc.pending(pendingId);
    if (pending === undefined) {
      shell.send(request, response, {
        status: 400,
        title: "This sign-in has expired",
        lede: "Go back to the application and start again.",
        body: html``,
      });
      return undefined;
    }
    return { kind: "authorize", pendingId, pending };
  }

  // The POST of an authorization answers with a redirect to the client: form-action must allow its origin.
  const policyFor = (flow: Flow) =>
    flow.kind === "authorize" ? { extraFormActions: [flow.pending.request.redirectUri] } : {};

  const flowInputs = (flow: Flow) =>
    flow.kind === "authorize"
      ? html`<input type="hidden" name="pending" value="${flow.pendingId}">`
      : flow.returnTo === undefined
        ? html``
        : html`<input type="hidden" name="return_to" value="${flow.returnTo}">`;

  /**
   * Begins the passkey ceremony the page offers (its options go in the form), or none: passkeys
   * off, or refused for now (rate limited, say), when the password form is all the page shows.
   */
  async function beginPasskey(
    request: HttpRequest,
    mfaToken: string | undefined,
  ): Promise<BegunPasskeyCeremony | undefined> {
    if (deps.passkeys === undefined) return undefined;
    const requester = requesterOf(request, deps.trustedProxyHops);
    try {
      await consume(deps, "gatehouse.v1.AuthService/BeginPasskeySignIn", requester.ip, mfaToken || undefined);
      return await deps.passkeys.beginPasskeySignIn({ mfaToken: mfaToken ?? "" }, requester);
    } catch (error) {
      if (isDomainError(error) && error.kind !== "unavailable" && error.kind !== "internal") return undefined;
      throw error;
    }
  }

  async function renderSignIn(
    request: HttpRequest,
    response: HttpResponse,
    flow: Flow,
    values: { login: string },
    errors: FormErrors,
    status = 200,
    // Off after a refused passkey: the autofill would offer (and a test authenticator resend) the same one.
    autofill = true,
  ) {
    const focus = new FocusPlan(errors, ["login", "password"]);
    const token = await shell.csrf.issue(request, response);
    const ceremony = await beginPasskey(request, undefined);
    shell.send(request, response, {
      status,
      title: "Sign in",
      lede: flow.kind === "authorize" ? `to continue to ${flow.pending.clientName}` : "to your account",
      policy: policyFor(flow),
      body: html`${errorSummary(errors, LOGIN_LABELS)}
<form method="post" action="${SIGN_IN_PATH}" novalidate>
${csrfInput(token)}
${flowInputs(flow)}
${field({ name: "login", label: "Username or email", autocomplete: ceremony === undefined ? "username" : "username webauthn", value: values.login, autofocus: true, maxLength: 254 }, errors, focus)}
${field({ name: "password", label: "Password", type: "password", autocomplete: "current-password", maxLength: 1024 }, errors, focus)}
${submitButton("Sign in")}
</form>
${ceremony === undefined ? "" : passkeyForm({ ceremony, csrfToken: token, hidden: flowInputs(flow), button: "Sign in with a passkey", autofill, separator: true })}`,
      passkeyScript: ceremony !== undefined,
      after: html`<p><a href="/forgot-password">Forgot your password?</a></p>${
        deps.signupEnabled ? html`<p>New here? <a href="/signup">Create an account</a></p>` : ""
      }`,
    });
  }

  async function renderMfa(
    request: HttpRequest,
    response: HttpResponse,
    flow: Flow,
    challenge: { mfaToken: string; methods: string },
    errors: FormErrors,
    status = 200,
  ) {
    const { mfaToken, methods } = challenge;
    const focus = new FocusPlan(errors, ["code"]);
    const token = await shell.csrf.issue(request, response);
    const ceremony = offersPasskey(methods) ? await beginPasskey(request, mfaToken) : undefined;
    const challengeInputs = html`<input type="hidden" name="mfa_token" value="${mfaToken}">
<input type="hidden" name="methods" value="${methods}">`;
    // A user whose only second factor is a passkey is asked for nothing else.
    const codes = ceremony === undefined || /\b(totp|recovery_code)\b/.test(methods);
    const codeForm = html`<form method="post" action="${MFA_PATH}" novalidate>
${csrfInput(token)}
${flowInputs(flow)}
${challengeInputs}
${field({ name: "code", label: "Code", autocomplete: "one-time-code", inputMode: "text", autofocus: true, maxLength: 32, hint: "For example 123456, or a recovery code like abcde-12345" }, errors, focus)}
${submitButton("Verify")}
</form>`;
    shell.send(request, response, {
      status,
      title: "Two-step verification",
      lede:
        ceremony === undefined
          ? "Enter the 6-digit code from your authenticator app, or one of your recovery codes."
          : codes
            ? "Use your passkey, or enter the 6-digit code from your authenticator app or one of your recovery codes."
            : "Use your passkey to finish signing in.",
      policy: policyFor(flow),
      body: html`${errorSummary(errors, MFA_LABELS)}
${codes ? codeForm : ""}
${ceremony === undefined ? "" : passkeyForm({ ceremony, csrfToken: token, hidden: html`${flowInputs(flow)}${challengeInputs}`, button: "Use your passkey", autofill: false, separator: codes })}`,
      passkeyScript: ceremony !== undefined,
    });
  }

  /** The session is open: remember it in the cookie and carry on (the authorization request, or return_to). */
  async function signedIn(request: HttpRequest, response: HttpResponse, flow: Flow, sessionId: string) {
    deps.cookie.set(response, sessionId, deps.sessionMaxLifetimeSeconds);
    if (flow.kind === "direct") {
      if (flow.returnTo !== undefined) return shell.redirect(response, flow.returnTo);
      return shell.send(request, response, {
        title: "You are signed in",
        body: html`<p>You can go back to the application you came from.</p>`,
      });
    }
    const outcome = await deps.oidc.resume(
      flow.pendingId,
      sessionId,
      requesterOf(request, deps.trustedProxyHops),
    );
    sendOutcome(deps, request, response, outcome);
  }

  const signIn = pageRoute(shell, deps.logger, {
    async get({ request, response, query }) {
      const flow = await flowOf(response, request, query);
      if (flow === undefined) return;
      const hint =
        query.get("login_hint") ?? (flow.kind === "authorize" ? flow.pending.request.loginHint : "") ?? "";
      await renderSignIn(request, response, flow, { login: hint.slice(0, 254) }, NO_ERRORS);
    },
    async post({ request, response }, form) {
      const flow = await flowOf(response, request, form);
      if (flow === undefined) return;
      const login = (form.get("login") ?? "").trim();
      const password = form.get("password") ?? "";
      const fields = new Map<string, string>();
      if (login === "") fields.set("login", "Enter your username or email");
      if (password === "") fields.set("password", "Enter your password");
      if (fields.size > 0) {
        return renderSignIn(request, response, flow, { login }, { fields, form: [] }, 400);
      }
      const requester = requesterOf(request, deps.trustedProxyHops);
      let result: LoginResult;
      try {
        await consume(deps, "gatehouse.v1.AuthService/Login", requester.ip, login.toLowerCase());
        result = await deps.auth.login({ login, password, totpCode: undefined }, requester);
      } catch (error) {
        const shown = messageOf(error);
        if (shown === undefined) throw error;
        return renderSignIn(
          request,
          response,
          flow,
          { login },
          { fields: new Map(), form: [shown.message] },
          shown.status,
        );
      }
      if ("mfaChallenge" in result) {
        const { mfaToken, methods } = result.mfaChallenge;
        return renderMfa(request, response, flow, { mfaToken, methods: methods.join(" ") }, NO_ERRORS);
      }
      return signedIn(request, response, flow, result.tokens.sessionId);
    },
  });

  const mfa = pageRoute(shell, deps.logger, {
    async post({ request, response }, form) {
      const flow = await flowOf(response, request, form);
      if (flow === undefined) return;
      const mfaToken = form.get("mfa_token") ?? "";
      const challenge = { mfaToken, methods: form.get("methods") ?? "" };
      const code = (form.get("code") ?? "").trim();
      if (code === "") {
        const errors = { fields: new Map([["code", "Enter a code"]]), form: [] };
        return renderMfa(request, response, flow, challenge, errors, 400);
      }
      const requester = requesterOf(request, deps.trustedProxyHops);
      const digits = code.replace(/\s/g, "");
      const answer = /^\d{6,8}$/.test(digits) ? { totpCode: digits } : { recoveryCode: code };
      let sessionId: string;
      try {
        await consume(deps, "gatehouse.v1.AuthService/VerifyMfa", requester.ip, mfaToken);
        sessionId = (await deps.auth.verifyMfa({ mfaToken, answer }, requester)).sessionId;
      } catch (error) {
        const shown = messageOf(error);
        if (shown === undefined) throw error;
        if (isDomainError(error) && error.reason === "invalid_mfa_token") {
          return renderSignIn(
            request,
            response,
            flow,
            { login: "" },
            { fields: new Map(), form: [shown.message] },
            shown.status,
          );
        }
        const errors = { fields: new Map([["code", shown.message]]), form: [] };
        return renderMfa(request, response, flow, challenge, errors, shown.status);
      }
      return signedIn(request, response, flow, sessionId);
    },
  });

  const passkey = pageRoute(shell, deps.logger, {
    async post({ request, response }, form) {
      const flow = await flowOf(response, request, form);
      if (flow === undefined) return;
      const mfaToken = form.get("mfa_token") ?? "";
      const challenge = { mfaToken, methods: form.get("methods") ?? "" };
      const signInAgain = (message: string, status: number) =>
        renderSignIn(
          request,
          response,
          flow,
          { login: "" },
          { fields: new Map(), form: [message] },
          status,
          false,
        );
      const refuse = (message: string, status: number) =>
        mfaToken === ""
          ? signInAgain(message, status)
          : renderMfa(request, response, flow, challenge, { fields: new Map(), form: [message] }, status);
      const ceremonyId = form.get("ceremony_id") ?? "";
      const credentialJson = form.get("credential_json") ?? "";
      if (deps.passkeys === undefined) return refuse("Passkeys cannot be used here. Use your password.", 400);
      if (ceremonyId === "" || credentialJson === "") {
        return refuse("Your browser sent no passkey. Try again, or use your password.", 400);
      }
      const requester = requesterOf(request, deps.trustedProxyHops);
      let sessionId: string;
      try {
        await consume(deps, "gatehouse.v1.AuthService/FinishPasskeySignIn", requester.ip, ceremonyId);
        sessionId = (await deps.passkeys.finishPasskeySignIn({ ceremonyId, credentialJson }, requester))
          .sessionId;
      } catch (error) {
        const shown = passkeyFailureMessage(error) ?? messageOf(error);
        if (shown === undefined) throw error;
        if (isDomainError(error) && error.reason === "invalid_mfa_token")
          return signInAgain(shown.message, shown.status);
        return refuse(shown.message, shown.status);
      }
      return signedIn(request, response, flow, sessionId);
    },
  });

  return [
    [SIGN_IN_PATH, signIn],
    [MFA_PATH, mfa],
    [PASSKEY_SIGN_IN_PATH, passkey],
  ];
}

/** The RPC's budgets, by the RPC's name (src/domain/rate-limit/call-limits.ts). */
async function consume(
  deps: OidcHttpDeps,
  method: string,
  ip: string,
  account: string | undefined,
): Promise<void> {
  if (!deps.rateLimit.enabled) return;
  await deps.limiter.consume(callLimits(deps.rateLimit, { method, ip, account }));
}
