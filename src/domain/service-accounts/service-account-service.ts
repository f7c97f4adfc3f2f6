import { DomainError } from "../errors.ts";
import { digestsEqual, hashOpaqueToken, newOpaqueToken } from "../opaque-token.ts";
import { type Page, pageSize } from "../pagination.ts";
import type { AccessChangeNotifier } from "../ports/access-changes.ts";
import type { RevocationStore } from "../revocation/revocation-store.ts";
import type { ServiceAccount, ServiceAccountRepository } from "./service-account.ts";

const notFound = () => new DomainError("not_found", "service_account_not_found", "no such service account");
const invalidClient = () =>
  new DomainError("unauthenticated", "invalid_client", "the client id or client secret is wrong");

/** A hash no secret has, compared against when the client id is unknown so that both paths do the same work. */
const NO_SECRET_HASH = hashOpaqueToken("gatehouse: no such client");

/**
 * Service accounts: create (the secret is returned once and stored as its
 * SHA-256 — 256 random bits need no slow hash), rotate, verify, update,
 * delete. Disabling or deleting one rejects its tokens at once, on every
 * replica. Callers check permissions (services.read / services.write) and
 * record audit events; this API is the domain's, not an RPC's.
 */
export class ServiceAccountService {
  private readonly repository: ServiceAccountRepository;
  private readonly revocations: RevocationStore;
  private readonly changes: AccessChangeNotifier;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(deps: {
    repository: ServiceAccountRepository;
    revocations: RevocationStore;
    changes: AccessChangeNotifier;
    now?: () => number;
    /** Waits; injectable so that tests need not. */
    sleep?: (ms: number) => Promise<void>;
  }) {
    this.repository = deps.repository;
    this.revocations = deps.revocations;
    this.changes = deps.changes;
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Returns the account and its client secret; the secret is never available again. */
  async create(input: {
    name: string;
    description: string;
  }): Promise<{ account: ServiceAccount; clientSecret: string }> {
    const clientSecret = newOpaqueToken();
    const account = await this.repository.create({
      name: input.name,
      clientId: input.name,
      description: input.description,
      secretHash: hashOpaqueToken(clientSecret),
    });
    return { account, clientSecret };
  }

  async get(id: string): Promise<ServiceAccount> {
    const account = await this.repository.get(id);
    if (account === undefined) throw notFound();
    return account;
  }

  list(query: { pageSize: number; pageToken: string }): Promise<Page<ServiceAccount>> {
    return this.repository.list({ pageSize: pageSize(query.pageSize), pageToken: query.pageToken });
  }

  async update(id: string, changes: { description?: string; disabled?: boolean }): Promise<ServiceAccount> {
    const before = await this.repository.get(id);
    if (before === undefined) throw notFound();
    const account = await this.repository.update(id, changes);
    if (account === undefined) throw notFound();
    if (account.disabled && !before.disabled) await this.revokeTokens(id);
    if (account.disabled !== before.disabled) await this.changes.subjectChanged(id);
    return account;
  }

  /**
   * Issues a new secret; the old one stops working at once. Unless
   * `keepIssuedTokens`, every token issued before is rejected at once on every
   * replica (a subject cut-off on the revocation feed).
   */
  async rotateSecret(
    id: string,
    options: { keepIssuedTokens: boolean },
  ): Promise<{ account: ServiceAccount; clientSecret: string }> {
    const clientSecret = newOpaqueToken();
    const account = await this.repository.setSecretHash(id, hashOpaqueToken(clientSecret));
    if (account === undefined) throw notFound();
    if (!options.keepIssuedTokens) {
      // Taken after the new hash is stored: no token can come from the old secret later than this.
      const cutoff = this.now();
      await this.revokeTokens(id, cutoff);
      // A cut-off covers its whole second (`iat` has no finer grain): the new secret is handed
      // out only once that second is over, so that its first token is not rejected with the old.
      await this.sleep(1000 - (cutoff % 1000));
    }
    return { account, clientSecret };
  }

  /** Idempotent. */
  async delete(id: string): Promise<void> {
    if (await this.repository.delete(id)) {
      await this.revokeTokens(id);
      await this.changes.subjectChanged(id);
    }
  }

  /** The enabled account with this client id and secret; throws unauthenticated "invalid_client" otherwise. */
  async verify(clientId: string, clientSecret: string): Promise<ServiceAccount> {
    const found = await this.repository.findByClientId(clientId);
    const matches = digestsEqual(found?.secretHash ?? NO_SECRET_HASH, hashOpaqueToken(clientSecret));
    if (found === undefined || !matches || found.account.disabled) throw invalidClient();
    return found.account;
  }

  private revokeTokens(id: string, cutoff = this.now()): Promise<void> {
    return this.revocations.revokeSubjectTokensIssuedBefore(id, new Date(cutoff));
  }
}
