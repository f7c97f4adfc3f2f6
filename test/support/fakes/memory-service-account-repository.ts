import { randomUUID } from "node:crypto";
import { DomainError } from "../../../src/domain/errors.ts";
import type {
  ServiceAccount,
  ServiceAccountRepository,
} from "../../../src/domain/service-accounts/service-account.ts";

/** The service_accounts table in memory, with each account's secret hash. */
export class MemoryServiceAccountRepository implements ServiceAccountRepository {
  readonly rows = new Map<string, { account: ServiceAccount; secretHash: string }>();

  async create(account: {
    name: string;
    clientId: string;
    description: string;
    secretHash: string;
  }): Promise<ServiceAccount> {
    if ([...this.rows.values()].some((row) => row.account.name === account.name)) {
      throw new DomainError("already_exists", "service_account_exists", "a service account has this name");
    }
    const now = new Date();
    const created: ServiceAccount = {
      id: randomUUID(),
      name: account.name,
      clientId: account.clientId,
      description: account.description,
      disabled: false,
      createdAt: now,
      updatedAt: now,
      secretRotatedAt: now,
    };
    this.rows.set(created.id, { account: created, secretHash: account.secretHash });
    return created;
  }

  async get(id: string): Promise<ServiceAccount | undefined> {
    return this.rows.get(id)?.account;
  }

  async findByClientId(
    clientId: string,
  ): Promise<{ account: ServiceAccount; secretHash: string } | undefined> {
    return [...this.rows.values()].find((row) => row.account.clientId === clientId);
  }

  async list(query: {
    pageSize: number;
    pageToken: string;
  }): Promise<{ items: ServiceAccount[]; nextPageToken: string }> {
    return {
      items: [...this.rows.values()].map((row) => row.account).slice(0, query.pageSize),
      nextPageToken: "",
    };
  }

  async update(
    id: string,
    changes: { description?: string; disabled?: boolean },
  ): Promise<ServiceAccount | undefined> {
    const row = this.rows.get(id);
    if (row === undefined) return undefined;
    row.account = {
      ...row.account,
      description: changes.description ?? row.account.description,
      disabled: changes.disabled ?? row.account.disabled,
      updatedAt: new Date(),
    };
    return row.account;
  }

  async setSecretHash(id: string, secretHash: string): Promise<ServiceAccount | undefined> {
    const row = this.rows.get(id);
    if (row === undefined) return undefined;
    row.secretHash = secretHash;
    row.account = { ...row.account, secretRotatedAt: new Date() };
    return row.account;
  }

  async delete(id: string): Promise<boolean> {
    return this.rows.delete(id);
  }
}
