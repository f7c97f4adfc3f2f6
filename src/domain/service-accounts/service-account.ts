/** A client of the client-credentials grant: a service calling other services. */
export interface ServiceAccount {
  readonly id: string;
  /** Unique, URL-safe (^[a-z][a-z0-9-]{1,62}$). */
  readonly name: string;
  /** The OAuth client id for ClientCredentialsToken; the same as the name. */
  readonly clientId: string;
  readonly description: string;
  readonly disabled: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly secretRotatedAt: Date;
}

/** The service_accounts table. */
export interface ServiceAccountRepository {
  /** Throws already_exists (name taken). */
  create(account: {
    name: string;
    clientId: string;
    description: string;
    secretHash: string;
  }): Promise<ServiceAccount>;
  get(id: string): Promise<ServiceAccount | undefined>;
  /** With the stored secret hash, for verification. */
  findByClientId(clientId: string): Promise<{ account: ServiceAccount; secretHash: string } | undefined>;
  /** Ordered by (created_at, id). */
  list(query: {
    pageSize: number;
    pageToken: string;
  }): Promise<{ items: ServiceAccount[]; nextPageToken: string }>;
  update(
    id: string,
    changes: { description?: string; disabled?: boolean },
  ): Promise<ServiceAccount | undefined>;
  setSecretHash(id: string, secretHash: string): Promise<ServiceAccount | undefined>;
  delete(id: string): Promise<boolean>;
}
