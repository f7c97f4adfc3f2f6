import { randomUUID } from "node:crypto";
import type { IdentityProvider } from "../ports/identity-provider.ts";
import { identityRef } from "./identity-ref.ts";
import { type ProfileChanges, profileMetadata, type User } from "./user.ts";
import type { UserRepository } from "./user-repository.ts";

export interface NewAccount {
  readonly username: string;
  readonly email: string;
  readonly emailVerified: boolean;
  /** Already checked against the password policy; undefined creates an account without one. */
  readonly password: string | undefined;
  readonly profile: ProfileChanges;
  readonly roles: readonly string[];
}

/**
 * Creates accounts the same way for sign-up, the admin API and the bootstrap
 * administrator: the identity provider first, then the local record; if the
 * local write fails, the provider's copy is removed again.
 */
export class AccountFactory {
  private readonly users: UserRepository;
  private readonly provider: IdentityProvider;

  constructor(users: UserRepository, provider: IdentityProvider) {
    this.users = users;
    this.provider = provider;
  }

  async create(account: NewAccount): Promise<User> {
    const id = randomUUID();
    const { externalId } = await this.provider.createUser(id, {
      username: account.username,
      email: account.email,
      emailVerified: account.emailVerified,
      firstName: account.profile.firstName ?? "",
      lastName: account.profile.lastName ?? "",
      enabled: true,
      metadata: profileMetadata(account.profile),
    });
    const ref = { id, externalId, username: account.username, email: account.email };
    let user: User;
    try {
      user = await this.users.create({
        id,
        username: account.username,
        email: account.email,
        emailVerified: account.emailVerified,
        profile: account.profile,
        externalId,
        roles: account.roles,
      });
    } catch (error) {
      await this.provider.deleteUser(ref).catch(() => {});
      throw error;
    }
    if (account.password !== undefined) {
      try {
        await this.provider.setPassword(identityRef(user), account.password);
      } catch (error) {
        await this.users.delete(id).catch(() => {});
        await this.provider.deleteUser(ref).catch(() => {});
        throw error;
      }
    }
    return user;
  }
}
