import {
  OidcClientType,
  OidcGrantType,
  OidcSigningAlgorithm,
  OidcTokenEndpointAuthMethod,
} from "../../../src/gen/gatehouse/v1/service_registry_pb.js";

/** How the OIDC client enums read to a person (the OAuth names, which admins search docs for). */
export const CLIENT_TYPES: ReadonlyArray<[OidcClientType, string]> = [
  [OidcClientType.PUBLIC, "Public (browser app or CLI: no secret, PKCE)"],
  [OidcClientType.CONFIDENTIAL, "Confidential (server-side: a secret or a key)"],
];

export const GRANT_TYPES: ReadonlyArray<[OidcGrantType, string]> = [
  [OidcGrantType.AUTHORIZATION_CODE, "authorization_code"],
  [OidcGrantType.REFRESH_TOKEN, "refresh_token"],
  [OidcGrantType.CLIENT_CREDENTIALS, "client_credentials"],
];

/** OidcScopeList's allowed values. */
export const SCOPES = ["openid", "profile", "email", "phone", "offline_access"] as const;

export const SIGNING_ALGORITHMS: ReadonlyArray<[OidcSigningAlgorithm, string]> = [
  [OidcSigningAlgorithm.RS256, "RS256"],
  [OidcSigningAlgorithm.ES256, "ES256"],
];

/** The token endpoint's client authentication a client of this type may use. */
export function authMethodsFor(type: OidcClientType): ReadonlyArray<[OidcTokenEndpointAuthMethod, string]> {
  return type === OidcClientType.PUBLIC
    ? [[OidcTokenEndpointAuthMethod.NONE, "none"]]
    : [
        [OidcTokenEndpointAuthMethod.CLIENT_SECRET_BASIC, "client_secret_basic"],
        [OidcTokenEndpointAuthMethod.CLIENT_SECRET_POST, "client_secret_post"],
        [OidcTokenEndpointAuthMethod.PRIVATE_KEY_JWT, "private_key_jwt"],
      ];
}

/** Whether a client authenticating this way has a secret (one to rotate). */
export const usesSecret = (method: OidcTokenEndpointAuthMethod): boolean =>
  method === OidcTokenEndpointAuthMethod.CLIENT_SECRET_BASIC ||
  method === OidcTokenEndpointAuthMethod.CLIENT_SECRET_POST;

export const labelOf = <T>(options: ReadonlyArray<[T, string]>, value: T): string =>
  options.find(([option]) => option === value)?.[1] ?? "—";
