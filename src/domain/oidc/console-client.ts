import type { OidcClient } from "./oidc-client.ts";
import type { OidcClientRepository, OidcClientSettings } from "./oidc-client-repository.ts";

/** The admin console's and account pages' client: first-party, public (a browser app with PKCE). */
export const CONSOLE_CLIENT_ID = "gatehouse-console";

/** What Gatehouse sets at every start; the name and `disabled` stay as an administrator left them. */
const MANAGED: readonly (keyof OidcClientSettings)[] = [
  "redirectUris",
  "postLogoutRedirectUris",
  "grantTypes",
  "scopes",
  "firstParty",
  "tokenEndpointAuthMethod",
];

/**
 * Registers the console as a client of the built-in OpenID Provider. Runs at
 * every start of every replica: one INSERT … ON CONFLICT, so two replicas
 * starting at once make one row, and a changed ISSUER moves its URIs along.
 */
export function registerConsoleClient(
  issuer: string,
  clients: Pick<OidcClientRepository, "ensure">,
): Promise<OidcClient> {
  return clients.ensure(
    {
      clientId: CONSOLE_CLIENT_ID,
      type: "public",
      secretHash: undefined,
      name: "Gatehouse console",
      redirectUris: [`${issuer}/console/callback`, `${issuer}/account/callback`],
      postLogoutRedirectUris: [`${issuer}/console/`, `${issuer}/account/`],
      grantTypes: ["authorization_code", "refresh_token"],
      scopes: ["openid", "profile", "email", "phone", "offline_access"],
      firstParty: true,
      backchannelLogoutUri: "",
      idTokenSigningAlg: "RS256",
      tokenEndpointAuthMethod: "none",
      jwks: "",
      disabled: false,
    },
    MANAGED,
  );
}
