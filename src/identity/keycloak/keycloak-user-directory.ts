import type { RemoteUser, RemoteUserDirectory, RemoteUserFields } from "../../domain/sync/sync-ports.ts";
import type { KeycloakAdmin } from "./keycloak-admin.ts";

/**
 * The sync's view of Keycloak's users: the admin API, metadata read from and
 * written to attributes. With `readAccess` (a role mapping is configured)
 * each user read carries their groups and effective realm roles: two more
 * admin calls per user, made only then.
 */
export class KeycloakUserDirectory implements RemoteUserDirectory {
  private readonly admin: KeycloakAdmin;
  private readonly readAccess: boolean;

  constructor(admin: KeycloakAdmin, options: { readAccess?: boolean } = {}) {
    this.admin = admin;
    this.readAccess = options.readAccess ?? false;
  }

  private async withAccess(user: RemoteUser | undefined): Promise<RemoteUser | undefined> {
    if (user === undefined || !this.readAccess) return user;
    return { ...user, access: await this.admin.accessOf(user.externalId) };
  }

  async get(externalId: string): Promise<RemoteUser | undefined> {
    return this.withAccess(await this.admin.getUser(externalId));
  }

  async findByUsername(username: string): Promise<RemoteUser | undefined> {
    return this.withAccess(await this.admin.findByUsername(username));
  }

  async findByEmail(email: string): Promise<RemoteUser | undefined> {
    return this.withAccess(await this.admin.findByEmail(email));
  }

  async page(first: number, max: number): Promise<RemoteUser[]> {
    const users = await this.admin.listUsers(first, max);
    if (!this.readAccess) return users;
    const withAccess: RemoteUser[] = [];
    for (const user of users) withAccess.push((await this.withAccess(user))!);
    return withAccess;
  }

  count(): Promise<number> {
    return this.admin.countUsers();
  }

  create(fields: RemoteUserFields): Promise<string> {
    return this.admin.createUser(fields);
  }

  async update(externalId: string, fields: RemoteUserFields): Promise<void> {
    await this.admin.updateUser(externalId, fields);
  }
}
