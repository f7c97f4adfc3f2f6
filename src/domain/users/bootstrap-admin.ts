import type { Logger } from "../../observability/logger.ts";
import { isDomainError } from "../errors.ts";
import { ADMIN_ROLE } from "../roles/permissions.ts";
import type { AccountFactory } from "./account-factory.ts";
import type { PasswordPolicy } from "./password-policy.ts";
import type { UserRepository } from "./user-repository.ts";

/**
 * The first administrator, from BOOTSTRAP_ADMIN_USERNAME/EMAIL/PASSWORD.
 * Idempotent: when the username or email exists already nothing changes (the
 * password in the environment is never applied to an existing account), so
 * every start and every replica may run it.
 */
export async function bootstrapAdministrator(
  admin: { username: string; email: string; password: string },
  deps: { users: UserRepository; accounts: AccountFactory; passwordPolicy: PasswordPolicy; logger: Logger },
): Promise<void> {
  if ((await deps.users.findByLogin(admin.username)) ?? (await deps.users.findByEmail(admin.email))) return;
  deps.passwordPolicy.check(admin.password, admin, "BOOTSTRAP_ADMIN_PASSWORD");
  try {
    const user = await deps.accounts.create({
      username: admin.username,
      email: admin.email,
      emailVerified: true,
      password: admin.password,
      profile: {},
      roles: [ADMIN_ROLE],
    });
    deps.logger.info({ userId: user.id, username: user.username }, "bootstrap administrator created");
  } catch (error) {
    // Another replica created it in the meantime.
    if (isDomainError(error) && error.kind === "already_exists") return;
    throw error;
  }
}
