import type { RemoteUser, RemoteUserDirectory, RemoteUserFields } from "../../domain/sync/sync-ports.ts";
import type { KeycloakAdmin } from "./keycloak-admin.ts";

/** The sync's view of Keycloak's users: the admin API, metadata read from and written to attributes. */
export class KeycloakUserDirectory implements RemoteUserDirectory {
  private readonly admin: KeycloakAdmin;

  constructor(admin: KeycloakAdmin) {
    this.admin = admin;
  }

  get(externalId: string): Promise<RemoteUser | undefined> {
    return this.admin.getUser(externalId);
  }

  findByUsername(username: string): Promise<RemoteUser | undefined> {
    return this.admin.findByUsername(username);
  }

  findByEmail(email: string): Promise<RemoteUser | undefined> {
    return this.admin.findByEmail(email);
  }

  page(first: number, max: number): Promise<RemoteUser[]> {
    return this.admin.listUsers(first, max);
  }

  create(fields: RemoteUserFields): Promise<string> {
    return this.admin.createUser(fields);
  }

  async update(externalId: string, fields: RemoteUserFields): Promise<void> {
    await this.admin.updateUser(externalId, fields);
  }
}
