import type { AccessRepository, SubjectAccess } from "../domain/decision/subject-access.ts";
import type { GrantRepository } from "../domain/grants/grant-repository.ts";
import type { User } from "../domain/users/user.ts";
import type { Sql } from "./sql.ts";

function groupGrants(grants: ReadonlyArray<{ serviceId: string; role: string }>): Map<string, string[]> {
  const byService = new Map<string, string[]>();
  for (const grant of grants) {
    const roles = byService.get(grant.serviceId);
    if (roles === undefined) byService.set(grant.serviceId, [grant.role]);
    else if (!roles.includes(grant.role)) roles.push(grant.role);
  }
  return byService;
}

/** Subjects' access as the decision engine needs it: status, name and every grant. */
export class SqlAccessRepository implements AccessRepository {
  private readonly sql: Sql;
  private readonly grants: GrantRepository;
  private readonly getUser: (id: string) => Promise<User | undefined>;

  constructor(sql: Sql, grants: GrantRepository, getUser: (id: string) => Promise<User | undefined>) {
    this.sql = sql;
    this.grants = grants;
    this.getUser = getUser;
  }

  async loadUser(userId: string): Promise<SubjectAccess | undefined> {
    const [user, direct, business] = await Promise.all([
      this.getUser(userId),
      this.grants.list({ kind: "user", id: userId }),
      this.grants.businessGrants(userId),
    ]);
    if (user === undefined) return undefined;
    return {
      kind: "user",
      id: user.id,
      active: user.status !== "disabled",
      name: user.username,
      grants: groupGrants([...direct, ...business]),
      user,
    };
  }

  async loadServiceAccount(serviceAccountId: string): Promise<SubjectAccess | undefined> {
    const [rows, grants] = await Promise.all([
      this.sql.query<{ id: string; client_id: string; disabled: boolean }>(
        `SELECT id, client_id, disabled FROM service_accounts WHERE id = $1`,
        [serviceAccountId],
      ),
      this.grants.list({ kind: "service_account", id: serviceAccountId }),
    ]);
    const account = rows[0];
    if (account === undefined) return undefined;
    return {
      kind: "service_account",
      id: account.id,
      active: !account.disabled,
      name: account.client_id,
      grants: groupGrants(grants),
      user: undefined,
    };
  }
}
