import { LRUCache } from "lru-cache";
import type { ServiceAccountRepository } from "../../domain/service-accounts/service-account.ts";
import type { SubjectResolver } from "./keycloak-token-verifier.ts";

/** Keycloak user id → Gatehouse user id is stable; a hard-deleted user drops out after this. */
const USER_TTL_MS = 5 * 60_000;
/**
 * Service accounts are looked up again soon, so that a new registration takes
 * effect quickly (whether one is disabled is the decision engine's check, kept
 * current by the change feed).
 */
const SERVICE_ACCOUNT_TTL_MS = 30_000;

/**
 * Maps Keycloak subjects to Gatehouse's, with small in-memory caches (the
 * decision engine caches verified tokens anyway; this spares the database a
 * lookup per new token of the same user).
 *
 * Users: users.external_id = Keycloak user id; a Keycloak user seen for the
 * first time is imported by `provision`. Service accounts: a
 * client-credentials token of Keycloak client X belongs to the Gatehouse
 * service account whose client_id is X (registered in Gatehouse with
 * CreateServiceAccount named like the Keycloak client; its Gatehouse secret
 * is unused, since Keycloak checks the client's secret).
 */
export class KeycloakSubjects implements SubjectResolver {
  private readonly provision: (keycloakUserId: string) => Promise<string>;
  private readonly serviceAccounts: Pick<ServiceAccountRepository, "findByClientId">;
  private readonly users: LRUCache<string, string>;
  private readonly clients: LRUCache<string, string>;

  constructor(
    provision: (keycloakUserId: string) => Promise<string>,
    serviceAccounts: Pick<ServiceAccountRepository, "findByClientId">,
    cacheSize = 10_000,
  ) {
    this.provision = provision;
    this.serviceAccounts = serviceAccounts;
    this.users = new LRUCache({ max: cacheSize, ttl: USER_TTL_MS });
    this.clients = new LRUCache({ max: 1000, ttl: SERVICE_ACCOUNT_TTL_MS });
  }

  async userIdFor(keycloakUserId: string): Promise<string> {
    const cached = this.users.get(keycloakUserId);
    if (cached !== undefined) return cached;
    const userId = await this.provision(keycloakUserId);
    this.users.set(keycloakUserId, userId);
    return userId;
  }

  async serviceAccountIdFor(clientId: string): Promise<string | undefined> {
    const cached = this.clients.get(clientId);
    if (cached !== undefined) return cached;
    // Not remembered when absent: a client registered a moment later must work at once.
    const id = (await this.serviceAccounts.findByClientId(clientId))?.account.id;
    if (id !== undefined) this.clients.set(clientId, id);
    return id;
  }

  /** Forgets a mapping (e.g. after a hard delete). */
  forgetUser(keycloakUserId: string): void {
    this.users.delete(keycloakUserId);
  }
}
