import { OAuthError } from "./oauth-error.ts";
import type { OidcClient, OidcClientDirectory } from "./oidc-client.ts";
import { isPkceValue } from "./pkce.ts";
import { SUPPORTED_SCOPES } from "./scopes.ts";

/** A validated authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636, RFC 8707). */
export interface AuthorizationRequest {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  /** Returned exactly as received (RFC 6749 §4.1.2); undefined when absent. */
  readonly state: string | undefined;
  readonly nonce: string | undefined;
  readonly codeChallenge: string | undefined;
  readonly prompt: readonly ("none" | "login")[];
  /** Seconds. */
  readonly maxAge: number | undefined;
  readonly loginHint: string | undefined;
  /** RFC 8707: the service audience the access token is for. */
  readonly audience: string | undefined;
}

/**
 * How a bad request is answered. Before the client and its redirect URI are
 * known to be right, never by a redirect (RFC 6749 §4.1.2.1: the user agent
 * must not be sent to an unverified URI): an error page. After, by a redirect
 * to that URI with `error`, `state` and `iss`.
 */
export type AuthorizationRequestCheck =
  | { readonly ok: true; readonly request: AuthorizationRequest; readonly client: OidcClient }
  | { readonly ok: false; readonly page: string }
  | {
      readonly ok: false;
      readonly redirect: { readonly redirectUri: string; readonly state: string | undefined };
      readonly error: OAuthError;
    };

export interface AuthorizationRequestDeps {
  readonly clients: OidcClientDirectory;
  /** RFC 8707: the audience of the registered service a `resource` names, if any. */
  readonly audienceOf: (resource: string) => Promise<string | undefined>;
}

const MAX_PARAMETER_LENGTH = 2048;

export async function checkAuthorizationRequest(
  params: ReadonlyMap<string, string>,
  deps: AuthorizationRequestDeps,
): Promise<AuthorizationRequestCheck> {
  const clientId = params.get("client_id");
  if (clientId === undefined || clientId === "") return { ok: false, page: "The request names no client." };
  const client = await deps.clients.find(clientId);
  if (client === undefined)
    return { ok: false, page: "The application that sent you here is not registered." };
  const redirectUri = params.get("redirect_uri");
  // Exact string match against the registered list (RFC 9700 §4.1.3); OIDC makes redirect_uri required.
  if (redirectUri === undefined || !client.redirectUris.includes(redirectUri)) {
    return {
      ok: false,
      page: "The application sent you here with a return address it has not registered, so you are not sent back.",
    };
  }
  const state = params.get("state");
  const fail = (error: OAuthError): AuthorizationRequestCheck => ({
    ok: false,
    redirect: { redirectUri, state },
    error,
  });
  const invalid = (description: string) => fail(new OAuthError("invalid_request", description));

  for (const [name, value] of params) {
    if (value.length > MAX_PARAMETER_LENGTH) return invalid(`${name} is too long`);
  }
  if (params.has("request") || params.has("request_uri")) {
    return fail(new OAuthError("invalid_request", "request objects are not supported"));
  }
  const responseType = params.get("response_type");
  if (responseType === undefined || responseType === "") return invalid("response_type is required");
  if (responseType !== "code") {
    return fail(new OAuthError("unsupported_response_type", "only response_type=code is served"));
  }
  const responseMode = params.get("response_mode");
  if (responseMode !== undefined && responseMode !== "query")
    return invalid("only response_mode=query is served");
  if (!client.grantTypes.includes("authorization_code")) {
    return fail(new OAuthError("unauthorized_client", "the client may not use the authorization code grant"));
  }

  const scopes = [...new Set((params.get("scope") ?? "").split(" ").filter((scope) => scope !== ""))];
  if (!scopes.includes("openid"))
    return fail(new OAuthError("invalid_scope", "the scope must include openid"));
  const unknown = scopes.filter(
    (scope) => !(SUPPORTED_SCOPES as readonly string[]).includes(scope) || !client.scopes.includes(scope),
  );
  if (unknown.length > 0) {
    return fail(new OAuthError("invalid_scope", `scope not allowed for this client: ${unknown.join(" ")}`));
  }

  const codeChallenge = params.get("code_challenge");
  const method = params.get("code_challenge_method");
  if (codeChallenge === undefined) {
    if (method !== undefined) return invalid("code_challenge_method without code_challenge");
    // RFC 9700 §2.1.1: public clients must use PKCE; others may.
    if (client.type === "public") return invalid("code_challenge is required (PKCE with S256)");
  } else {
    // A missing method means "plain" (RFC 7636 §4.3), which is refused like an explicit one.
    if (method !== "S256") return invalid("code_challenge_method must be S256");
    if (!isPkceValue(codeChallenge)) return invalid("code_challenge is malformed");
  }

  const prompt = (params.get("prompt") ?? "").split(" ").filter((value) => value !== "");
  if (prompt.some((value) => value !== "none" && value !== "login")) {
    return invalid("prompt may be none or login");
  }
  if (prompt.includes("none") && prompt.length > 1) return invalid("prompt=none may not be combined");

  const maxAgeText = params.get("max_age");
  let maxAge: number | undefined;
  if (maxAgeText !== undefined) {
    if (!/^\d{1,10}$/.test(maxAgeText)) return invalid("max_age must be a number of seconds");
    maxAge = Number(maxAgeText);
  }

  const resource = params.get("resource");
  let audience: string | undefined;
  if (resource !== undefined) {
    audience = await deps.audienceOf(resource);
    if (audience === undefined) {
      return fail(new OAuthError("invalid_target", "the resource is not a registered service's audience"));
    }
  }

  return {
    ok: true,
    client,
    request: {
      clientId,
      redirectUri,
      scopes,
      state,
      nonce: params.get("nonce"),
      codeChallenge,
      prompt: prompt as ("none" | "login")[],
      maxAge,
      loginHint: params.get("login_hint"),
      audience,
    },
  };
}

/** The authorization response's redirect (RFC 6749 §4.1.2 and §4.1.2.1, RFC 9207's `iss`). */
export function authorizationRedirect(
  redirectUri: string,
  issuer: string,
  state: string | undefined,
  values: Record<string, string>,
): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(values)) url.searchParams.set(name, value);
  if (state !== undefined) url.searchParams.set("state", state);
  url.searchParams.set("iss", issuer);
  return url.toString();
}
