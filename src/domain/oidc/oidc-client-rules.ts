import { DomainError, type FieldViolation } from "../errors.ts";
import type { OidcClient } from "./oidc-client.ts";
import type { OidcClientSettings } from "./oidc-client-repository.ts";

export const OIDC_SCOPES = ["openid", "profile", "email", "phone", "offline_access"] as const;

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Members that only a private (or symmetric) JWK has: a JWKS for private_key_jwt must not hold secrets. */
const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];

/**
 * Why a redirect URI is refused, or undefined: absolute, https or plain http
 * on a loopback host (RFC 8252 §7.3), no fragment (RFC 6749 §3.1.2), no
 * credentials. The proto checks this too; the domain guards its own invariant.
 */
export function redirectUriProblem(uri: string): string | undefined {
  if (uri.includes("#")) return "must not contain a fragment";
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return "must be an absolute URI";
  }
  if (url.username !== "" || url.password !== "") return "must not contain credentials";
  if (url.protocol === "https:") return url.hostname === "" ? "must name a host" : undefined;
  if (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  return "must be https, or http on localhost, 127.0.0.1 or [::1]";
}

function backchannelUriProblem(uri: string): string | undefined {
  if (uri === "") return undefined;
  if (uri.includes("#")) return "must not contain a fragment";
  try {
    const url = new URL(uri);
    if (url.protocol !== "https:" && url.protocol !== "http:") return "must be http or https";
    if (url.username !== "" || url.password !== "") return "must not contain credentials";
    return undefined;
  } catch {
    return "must be an absolute URI";
  }
}

function jwksProblem(jwks: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(jwks);
  } catch {
    return "must be a JWK Set (JSON)";
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) return 'must be a JWK Set with at least one key in "keys"';
  for (const key of keys) {
    if (typeof key !== "object" || key === null || typeof (key as { kty?: unknown }).kty !== "string") {
      return 'every key must be a JWK with "kty"';
    }
    if (PRIVATE_JWK_MEMBERS.some((member) => member in key)) return "must hold public keys only";
  }
  return undefined;
}

/**
 * Checks a client's settings as a whole (after a change was merged in): each
 * field, and the combinations OAuth makes meaningless or unsafe. Throws
 * invalid_argument with every violation found.
 */
export function checkClientSettings(type: OidcClient["type"], settings: OidcClientSettings): void {
  const violations: FieldViolation[] = [];
  const add = (field: string, description: string) => violations.push({ field, description });

  for (const [field, uris] of [
    ["redirect_uris", settings.redirectUris],
    ["post_logout_redirect_uris", settings.postLogoutRedirectUris],
  ] as const) {
    uris.forEach((uri, index) => {
      const problem = redirectUriProblem(uri);
      if (problem !== undefined) add(`${field}.uris[${index}]`, problem);
    });
    if (new Set(uris).size !== uris.length) add(`${field}.uris`, "must not repeat a URI");
  }
  const backchannel = backchannelUriProblem(settings.backchannelLogoutUri);
  if (backchannel !== undefined) add("backchannel_logout_uri", backchannel);

  const grants = new Set(settings.grantTypes);
  if (grants.size === 0) add("grant_types", "must allow at least one grant");
  if (grants.has("authorization_code") && settings.redirectUris.length === 0) {
    add("redirect_uris", "the authorization_code grant needs at least one redirect URI");
  }
  if (grants.has("refresh_token") && !grants.has("authorization_code")) {
    add("grant_types", "refresh_token needs authorization_code");
  }
  for (const scope of settings.scopes) {
    if (!(OIDC_SCOPES as readonly string[]).includes(scope)) add("scopes", `unknown scope "${scope}"`);
  }
  if (settings.scopes.includes("offline_access") && !grants.has("refresh_token")) {
    add("scopes", "offline_access needs the refresh_token grant");
  }

  const method = settings.tokenEndpointAuthMethod;
  if (type === "public") {
    if (method !== "none") add("token_endpoint_auth_method", "a public client does not authenticate: none");
    if (grants.has("client_credentials")) add("grant_types", "a public client cannot use client_credentials");
  } else if (method === "none") {
    add("token_endpoint_auth_method", "a confidential client must authenticate");
  }
  if (method === "private_key_jwt") {
    const problem =
      settings.jwks === "" ? "private_key_jwt needs the client's jwks" : jwksProblem(settings.jwks);
    if (problem !== undefined) add("jwks", problem);
  } else if (settings.jwks !== "") {
    add("jwks", "only a private_key_jwt client has a jwks");
  }
  if (violations.length > 0) {
    throw new DomainError(
      "invalid_argument",
      "invalid_client_settings",
      "the client settings are not valid",
      {
        violations,
      },
    );
  }
}

/** Whether clients of this method authenticate with a shared secret (and so are issued one). */
export const usesSecret = (method: OidcClient["tokenEndpointAuthMethod"]): boolean =>
  method === "client_secret_basic" || method === "client_secret_post";
