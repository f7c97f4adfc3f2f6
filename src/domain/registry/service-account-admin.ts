import type { Actor } from "../actor.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import type { Grant, ListedGrant } from "../grants/grant-repository.ts";
import type { GrantService } from "../grants/grant-service.ts";
import type { Page } from "../pagination.ts";
import type { PermissionGuard } from "../ports/permission-guard.ts";
import type { PrivilegeCeiling } from "../roles/privilege-ceiling.ts";
import type { ServiceAccount } from "../service-accounts/service-account.ts";
import type { ServiceAccountService } from "../service-accounts/service-account-service.ts";

export interface ServiceAccountView {
  readonly account: ServiceAccount;
  readonly grants: ListedGrant[];
}

/**
 * Administration of service accounts as the registry exposes it: permission
 * checks and audit around the service-account domain, and their grants.
 */
export class ServiceAccountAdmin {
  private readonly accounts: ServiceAccountService;
  private readonly grants: GrantService;
  private readonly access: PermissionGuard;
  private readonly audit: Pick<AuditLog, "record">;
  private readonly ceiling: Pick<PrivilegeCeiling, "requireMayManage">;

  constructor(deps: {
    accounts: ServiceAccountService;
    grants: GrantService;
    access: PermissionGuard;
    audit: Pick<AuditLog, "record">;
    /** Who may manage whom: only someone holding every grant of a service account may change, rotate or delete it. */
    ceiling: Pick<PrivilegeCeiling, "requireMayManage">;
  }) {
    this.ceiling = deps.ceiling;
    this.accounts = deps.accounts;
    this.grants = deps.grants;
    this.access = deps.access;
    this.audit = deps.audit;
  }

  private async requireMayManage(actor: Actor, id: string): Promise<void> {
    await this.access.requirePermission(actor.principal, "services.write");
    await this.ceiling.requireMayManage(actor.principal, { kind: "service_account", id });
  }

  private record(actor: Actor, action: string, id: string): Promise<void> {
    return this.audit.record({
      action,
      result: "success",
      actor,
      targetKind: "service_account",
      targetId: id,
    });
  }

  async create(
    actor: Actor,
    input: { name: string; description: string; grants: readonly Grant[] },
  ): Promise<ServiceAccountView & { clientSecret: string }> {
    await this.access.requirePermission(actor.principal, "services.write");
    if (input.grants.length > 0) await this.access.requirePermission(actor.principal, "grants.write");
    const { account, clientSecret } = await this.accounts.create(input);
    await this.record(actor, "service_accounts.create", account.id);
    const grants =
      input.grants.length > 0
        ? await this.grants.replace(actor, { kind: "service_account", id: account.id }, input.grants)
        : [];
    return { account, grants, clientSecret };
  }

  async get(actor: Actor, id: string): Promise<ServiceAccountView> {
    await this.access.requirePermission(actor.principal, "services.read");
    const account = await this.accounts.get(id);
    return { account, grants: await this.grants.listForServiceAccount(actor, id) };
  }

  async list(
    actor: Actor,
    query: { pageSize: number; pageToken: string },
  ): Promise<Page<ServiceAccountView>> {
    await this.access.requirePermission(actor.principal, "services.read");
    const page = await this.accounts.list(query);
    const items = await Promise.all(
      page.items.map(async (account) => ({
        account,
        grants: await this.grants.listForServiceAccount(actor, account.id),
      })),
    );
    return { items, nextPageToken: page.nextPageToken };
  }

  async update(
    actor: Actor,
    id: string,
    changes: { description?: string; disabled?: boolean },
  ): Promise<ServiceAccountView> {
    await this.requireMayManage(actor, id);
    const account = await this.accounts.update(id, changes);
    await this.record(actor, "service_accounts.update", id);
    return { account, grants: await this.grants.listForServiceAccount(actor, id) };
  }

  async delete(actor: Actor, id: string): Promise<void> {
    await this.requireMayManage(actor, id);
    await this.accounts.delete(id);
    await this.record(actor, "service_accounts.delete", id);
  }

  async rotateSecret(actor: Actor, id: string, options: { keepIssuedTokens: boolean }): Promise<string> {
    await this.requireMayManage(actor, id);
    const { clientSecret } = await this.accounts.rotateSecret(id, options);
    await this.audit.record({
      action: "service_accounts.rotate_secret",
      result: "success",
      actor,
      targetKind: "service_account",
      targetId: id,
      details: { issued_tokens: options.keepIssuedTokens ? "kept" : "revoked" },
    });
    return clientSecret;
  }
}
