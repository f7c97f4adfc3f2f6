import { DomainError } from "../domain/errors.ts";
import type { UserLinkRepository } from "../domain/sync/sync-ports.ts";
import type { SqlRunner } from "./sql.ts";
import { isUniqueViolation } from "./sql-errors.ts";

/**
 * The two columns of users that the Keycloak sync owns: the link to the
 * Keycloak user (external_id, unique) and the MFA flag, which Keycloak's OTP
 * credential decides under IDENTITY_PROVIDER=keycloak. Every other read and
 * write of users goes through the UserRepository.
 */
export class SqlUserLinkRepository implements UserLinkRepository {
  private readonly sql: SqlRunner;

  constructor(sql: SqlRunner) {
    this.sql = sql;
  }

  async findUserIdByExternalId(externalId: string): Promise<string | undefined> {
    const [row] = await this.sql.query<{ id: string }>(`SELECT id FROM users WHERE external_id = $1`, [
      externalId,
    ]);
    return row?.id;
  }

  async link(userId: string, externalId: string): Promise<void> {
    try {
      await this.sql.query(
        `UPDATE users SET external_id = $2, updated_at = clock_timestamp() WHERE id = $1`,
        [userId, externalId],
      );
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new DomainError(
        "already_exists",
        "sync_conflict",
        "another user is linked to this Keycloak user",
        {
          cause: error,
        },
      );
    }
  }

  async markSynced(userId: string): Promise<void> {
    await this.sql.query(`UPDATE users SET keycloak_synced_at = clock_timestamp() WHERE id = $1`, [userId]);
  }

  async setMfaEnabled(userId: string, enabled: boolean): Promise<void> {
    await this.sql.query(
      `UPDATE users SET mfa_enabled = $2, updated_at = clock_timestamp() WHERE id = $1 AND mfa_enabled <> $2`,
      [userId, enabled],
    );
  }
}
