import type { JWK } from "jose";

export interface StoredSigningKey {
  readonly kid: string;
  readonly generation: number;
  readonly algorithm: string;
  readonly publicJwk: JWK;
  readonly privateKeySealed: string;
  /** Signs from here… */
  readonly activatesAt: Date;
  /** …until here; */
  readonly retiresAt: Date;
  /** and is published (verifies) until here. */
  readonly expiresAt: Date;
}

/** The signing_keys table. */
export interface SigningKeyStore {
  /** Keys not yet expired, any order. */
  unexpired(now: Date): Promise<StoredSigningKey[]>;
  /** False when another replica already stored a key of this generation. */
  insert(key: StoredSigningKey): Promise<boolean>;
  deleteExpiredBefore(time: Date): Promise<void>;
  /** Brings a key's retirement forward to `time` (never later than it was): its successor signs from then. */
  retireBy(kid: string, time: Date): Promise<void>;
}
