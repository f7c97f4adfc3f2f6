/** A role held on a service. */
export interface Grant {
  readonly serviceId: string;
  readonly role: string;
}

/** A grant as listed: with the service's slug, for people reading it. */
export interface ListedGrant extends Grant {
  readonly serviceSlug: string;
}

export type GrantHolder =
  | { readonly kind: "user"; readonly id: string }
  | { readonly kind: "service_account"; readonly id: string };

/** Persistence of direct grants (user_service_grants, service_account_grants). */
export interface GrantRepository {
  /**
   * Replaces every direct grant of the holder in one transaction, after
   * checking (under a row lock on the holder) that the holder and each service
   * exist and that each role is defined by its service.
   * Throws DomainError not_found / invalid_argument.
   */
  replace(holder: GrantHolder, grants: readonly Grant[]): Promise<void>;
  list(holder: GrantHolder): Promise<ListedGrant[]>;
  /** Grants a user holds through business roles. */
  businessGrants(userId: string): Promise<Array<ListedGrant & { readonly businessRoleId: string }>>;
}
