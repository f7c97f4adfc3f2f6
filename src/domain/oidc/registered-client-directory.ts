import { digestsEqual, hashOpaqueToken } from "../opaque-token.ts";
import type { OidcClient, OidcClientDirectory } from "./oidc-client.ts";
import type { OidcClientRepository } from "./oidc-client-repository.ts";

/** A hash no secret has, compared against when there is no stored one so that every path does the same work. */
const NO_SECRET_HASH = hashOpaqueToken("gatehouse: no such OIDC client");

/**
 * The OpenID Provider's view of the registered clients, read from the
 * database on each call (no cache: a disabled client or a rotated secret
 * takes effect at once on every replica, with nothing to invalidate).
 */
export class RegisteredClientDirectory implements OidcClientDirectory {
  private readonly repository: Pick<OidcClientRepository, "findByClientId">;

  constructor(repository: Pick<OidcClientRepository, "findByClientId">) {
    this.repository = repository;
  }

  async find(clientId: string): Promise<OidcClient | undefined> {
    const found = await this.repository.findByClientId(clientId);
    return found === undefined || found.client.disabled ? undefined : found.client;
  }

  async verifySecret(clientId: string, secret: string): Promise<boolean> {
    const found = await this.repository.findByClientId(clientId);
    const matches = digestsEqual(found?.secretHash ?? NO_SECRET_HASH, hashOpaqueToken(secret));
    return matches && found !== undefined && !found.client.disabled && found.client.type === "confidential";
  }
}
