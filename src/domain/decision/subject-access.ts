import type { User as DomainUser } from "../users/user.ts";

/** What the decision engine needs to know about a token's subject. */
export interface SubjectAccess {
  readonly kind: "user" | "service_account";
  readonly id: string;
  /** May sign in and be granted access (user active; service account enabled). */
  readonly active: boolean;
  /** The user's username, or the service account's client id. */
  readonly name: string;
  /** Service id → every role held there (directly or through business roles). */
  readonly grants: ReadonlyMap<string, readonly string[]>;
  /** The full user, for VerifyToken's response; undefined for service accounts. */
  readonly user: DomainUser | undefined;
}

/** Loads a subject's access from the database. Undefined when the subject does not exist. */
export interface AccessRepository {
  loadUser(userId: string): Promise<SubjectAccess | undefined>;
  loadServiceAccount(serviceAccountId: string): Promise<SubjectAccess | undefined>;
}
