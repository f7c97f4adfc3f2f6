import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, jwtVerify } from "jose";
import { OAuthError } from "../../domain/oidc/oauth-error.ts";
import type { OidcClient, OidcClientDirectory } from "../../domain/oidc/oidc-client.ts";
import type { CoordinationStore } from "../../domain/ports/coordination-store.ts";

/** RFC 7523 §2.2's assertion type for private_key_jwt (OIDC Core §9). */
export const JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** What a request presents to say which client it is, before anything is checked. */
export type PresentedClient =
  | {
      readonly method: "client_secret_basic" | "client_secret_post";
      readonly clientId: string;
      readonly secret: string;
    }
  | { readonly method: "private_key_jwt"; readonly clientId: string; readonly assertion: string }
  | { readonly method: "none"; readonly clientId: string };

export interface ClientAuthenticationDeps {
  readonly clients: OidcClientDirectory;
  /** The issuer and the endpoint URLs an assertion's `aud` may name (token, introspection, revocation). */
  readonly audiences: readonly string[];
  /** Remembers assertion `jti`s until they expire: an assertion is single use, on every replica. */
  readonly store: CoordinationStore;
  readonly clockSkewSeconds: number;
  readonly now?: () => number;
}

const invalidClient = (description = "client authentication failed") =>
  new OAuthError("invalid_client", description);

/** The longest lifetime an assertion may claim: it is meant for one request, now. */
const MAX_ASSERTION_LIFETIME_SECONDS = 300;

/**
 * Reads how the client authenticates (RFC 6749 §2.3.1: HTTP Basic with
 * form-urlencoded id and secret, or the two form parameters; OIDC Core §9:
 * private_key_jwt; or a public client's bare `client_id`). More than one
 * method in a request is invalid_request (§2.3: "MUST NOT use more than one").
 * Undefined when the request names no client at all.
 */
export function presentedClient(
  authorization: string | undefined,
  form: ReadonlyMap<string, string>,
): PresentedClient | undefined {
  const methods: PresentedClient[] = [];
  if (authorization !== undefined && /^basic /i.test(authorization)) {
    const decoded = Buffer.from(authorization.slice(6).trim(), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) throw invalidClient("the Basic credentials are malformed");
    try {
      methods.push({
        method: "client_secret_basic",
        clientId: decodeFormComponent(decoded.slice(0, colon)),
        secret: decodeFormComponent(decoded.slice(colon + 1)),
      });
    } catch {
      throw invalidClient("the Basic credentials are malformed");
    }
  }
  const secret = form.get("client_secret");
  const assertion = form.get("client_assertion");
  const formClientId = form.get("client_id");
  if (secret !== undefined) {
    methods.push({ method: "client_secret_post", clientId: formClientId ?? "", secret });
  }
  if (assertion !== undefined) {
    if (form.get("client_assertion_type") !== JWT_BEARER_ASSERTION) {
      throw new OAuthError("invalid_request", `client_assertion_type must be ${JWT_BEARER_ASSERTION}`);
    }
    let subject = "";
    try {
      subject = String(decodeJwt(assertion).sub ?? "");
    } catch {
      throw invalidClient("the client assertion is malformed");
    }
    methods.push({ method: "private_key_jwt", clientId: subject, assertion });
  }
  if (methods.length > 1) {
    throw new OAuthError("invalid_request", "use one client authentication method per request");
  }
  const presented = methods[0];
  if (presented === undefined) {
    return formClientId === undefined || formClientId === ""
      ? undefined
      : { method: "none", clientId: formClientId };
  }
  // A client_id parameter beside the credentials must name the same client.
  if (formClientId !== undefined && formClientId !== presented.clientId) {
    throw new OAuthError("invalid_request", "client_id does not match the client's credentials");
  }
  if (presented.clientId === "") throw invalidClient();
  return presented;
}

/**
 * Authenticates an OIDC client at the token, introspection or revocation
 * endpoint: a confidential client by its secret (basic or post) or, when it
 * registered private_key_jwt, by a signed assertion; a public client by its
 * id alone. Every failure is invalid_client (401 with WWW-Authenticate at the
 * edge) and says nothing about which part was wrong.
 */
export async function authenticateClient(
  presented: PresentedClient | undefined,
  deps: ClientAuthenticationDeps,
): Promise<OidcClient> {
  if (presented === undefined) throw invalidClient("the request names no client");
  const client = await deps.clients.find(presented.clientId);
  if (client === undefined || client.disabled) throw invalidClient();
  switch (presented.method) {
    case "none":
      if (client.type !== "public") throw invalidClient();
      return client;
    case "client_secret_basic":
    case "client_secret_post":
      if (client.type !== "confidential" || client.tokenEndpointAuthMethod === "private_key_jwt") {
        throw invalidClient();
      }
      if (!(await deps.clients.verifySecret(client.clientId, presented.secret))) throw invalidClient();
      return client;
    case "private_key_jwt":
      if (client.type !== "confidential" || client.tokenEndpointAuthMethod !== "private_key_jwt") {
        throw invalidClient();
      }
      await verifyAssertion(client, presented.assertion, deps);
      return client;
  }
}

async function verifyAssertion(
  client: OidcClient,
  assertion: string,
  deps: ClientAuthenticationDeps,
): Promise<void> {
  let keys: JSONWebKeySet;
  try {
    keys = JSON.parse(client.jwks) as JSONWebKeySet;
  } catch {
    throw invalidClient();
  }
  const now = deps.now?.() ?? Date.now();
  let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
  try {
    ({ payload } = await jwtVerify(assertion, createLocalJWKSet(keys), {
      algorithms: ["RS256", "ES256"],
      issuer: client.clientId,
      subject: client.clientId,
      audience: [...deps.audiences],
      requiredClaims: ["exp", "jti"],
      clockTolerance: deps.clockSkewSeconds,
      currentDate: new Date(now),
    }));
  } catch (error) {
    throw new OAuthError("invalid_client", "client authentication failed", { cause: error });
  }
  const exp = payload.exp!;
  if (exp - now / 1000 > MAX_ASSERTION_LIFETIME_SECONDS)
    throw invalidClient("the client assertion lives too long");
  const ttlMs = Math.max(1000, (exp + deps.clockSkewSeconds) * 1000 - now);
  const fresh = await deps.store.setIfAbsent(`oidc:assertion:${client.clientId}:${payload.jti}`, "1", ttlMs);
  if (!fresh) throw invalidClient("the client assertion was used already");
}

/** application/x-www-form-urlencoded decoding ("+" is a space), as RFC 6749 §2.3.1 asks of Basic credentials. */
function decodeFormComponent(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, " "));
}
