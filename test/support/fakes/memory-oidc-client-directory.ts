import { randomUUID } from "node:crypto";
import type { OidcClient, OidcClientDirectory } from "../../../src/domain/oidc/oidc-client.ts";

/** Registered OIDC clients in memory, with their secrets in the clear (tests only). */
export class MemoryOidcClientDirectory implements OidcClientDirectory {
  readonly clients = new Map<string, { client: OidcClient; secret: string }>();

  /** Registers a client; a confidential one gets `secret` (or a fixed test secret). */
  add(fields: Partial<OidcClient> & { clientId: string }, secret = "s3cret-of-the-client"): OidcClient {
    const now = new Date();
    const client: OidcClient = {
      id: randomUUID(),
      name: fields.clientId,
      type: "public",
      redirectUris: ["https://app.example/callback"],
      postLogoutRedirectUris: ["https://app.example/"],
      grantTypes: ["authorization_code", "refresh_token"],
      scopes: ["openid", "profile", "email", "phone", "offline_access"],
      firstParty: true,
      backchannelLogoutUri: "",
      idTokenSigningAlg: "RS256",
      tokenEndpointAuthMethod: fields.type === "confidential" ? "client_secret_basic" : "none",
      jwks: "",
      disabled: false,
      createdAt: now,
      updatedAt: now,
      secretRotatedAt: undefined,
      ...fields,
    };
    this.clients.set(client.clientId, { client, secret });
    return client;
  }

  async find(clientId: string): Promise<OidcClient | undefined> {
    const found = this.clients.get(clientId)?.client;
    return found === undefined || found.disabled ? undefined : found;
  }

  async verifySecret(clientId: string, secret: string): Promise<boolean> {
    const found = this.clients.get(clientId);
    return (
      found !== undefined &&
      !found.client.disabled &&
      found.client.type === "confidential" &&
      found.secret === secret
    );
  }
}
