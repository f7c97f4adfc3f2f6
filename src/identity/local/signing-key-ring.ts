import { createPublicKey, type KeyObject } from "node:crypto";
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from "jose";
import type { RotatedSigningKey } from "../../domain/ports/signing-key-rotation.ts";
import type { SigningKeyStore, StoredSigningKey } from "../../domain/ports/signing-key-store.ts";
import type { Logger } from "../../observability/logger.ts";
import type { Sealer } from "./sealer.ts";

export const SIGNING_ALGORITHM = "ES256";

/** The algorithms a ring can hold: ES256 (access tokens, ID tokens on request) and RS256 (ID tokens). */
export type RingAlgorithm = "ES256" | "RS256";

interface LoadedKey {
  readonly stored: StoredSigningKey;
  readonly publicKey: CryptoKey;
  /** The same public key for node:crypto's synchronous verify (access tokens, see AccessTokens). */
  readonly verifyKey: KeyObject;
  privateKey: Promise<CryptoKey> | undefined;
}

export interface SigningKeyRingOptions {
  /** How long a key signs. */
  readonly rotationMs: number;
  /** How long a retired key still verifies: the longest access-token lifetime plus clock skew. */
  readonly verifyAfterRetirementMs: number;
  /** ES256 unless said; each algorithm has its own ring and generation sequence in the same table. */
  readonly algorithm?: RingAlgorithm;
  readonly now?: () => number;
}

const MAINTENANCE_INTERVAL_MS = 10 * 60_000;
/**
 * An on-demand successor signs this long after it is published: our JWKS is served with
 * max-age=300, so by then every verifier caching it has the new key.
 */
export const ROTATION_PUBLISH_AHEAD_MS = 310_000;
/** An unknown `kid` reloads keys from the database at most this often (another replica may have rotated). */
const RELOAD_ON_UNKNOWN_KID_MS = 10_000;
const DAY_MS = 86_400_000;

/**
 * The issuer's ES256 signing keys: generated on first start, sealed at rest
 * (AES-256-GCM), rotated every SIGNING_KEY_ROTATION_DAYS with overlap. A
 * successor is published ahead of its activation (so verifiers caching our
 * JWKS already know it), and a retired key stays published until every token
 * it signed has expired. Replicas share the keys through the database; a
 * generation number makes concurrent rotation produce one key.
 */
export class SigningKeyRing {
  private readonly store: SigningKeyStore;
  private readonly sealer: Sealer;
  private readonly logger: Logger;
  private readonly options: SigningKeyRingOptions;
  private readonly now: () => number;
  readonly algorithm: RingAlgorithm;
  private keys = new Map<string, LoadedKey>();
  private lastReload = 0;
  private reloading: Promise<void> | undefined;
  private maintaining: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(store: SigningKeyStore, sealer: Sealer, logger: Logger, options: SigningKeyRingOptions) {
    this.store = store;
    this.sealer = sealer;
    this.logger = logger;
    this.options = options;
    this.now = options.now ?? Date.now;
    this.algorithm = options.algorithm ?? SIGNING_ALGORITHM;
  }

  /** Loads the keys, creating the first one (or the next) if needed, and starts periodic maintenance. */
  async start(): Promise<void> {
    await this.maintain();
    // Fail at start-up, not at the first sign-in, when the key cannot be opened.
    await this.signingKey().catch((error: unknown) => {
      throw new Error(
        "the active signing key cannot be opened: KEY_ENCRYPTION_KEY is not the key it was sealed with",
        { cause: error },
      );
    });
    this.timer = setInterval(() => {
      this.maintain().catch((error: unknown) =>
        this.logger.error({ err: error }, "signing key maintenance failed"),
      );
    }, MAINTENANCE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  private get prepublishMs(): number {
    return Math.min(DAY_MS, this.options.rotationMs / 4);
  }

  private async reload(): Promise<void> {
    this.reloading ??= (async () => {
      try {
        const stored = await this.store.unexpired(new Date(this.now()));
        const next = new Map<string, LoadedKey>();
        for (const key of stored) {
          if (key.algorithm !== this.algorithm) continue;
          const existing = this.keys.get(key.kid);
          next.set(
            key.kid,
            // The stored times may have changed (an on-demand rotation brings retirement forward).
            existing === undefined
              ? {
                  stored: key,
                  publicKey: await this.importPublic(key),
                  verifyKey: createPublicKey({ key: key.publicJwk as never, format: "jwk" }),
                  privateKey: undefined,
                }
              : { ...existing, stored: key },
          );
        }
        this.keys = next;
        this.lastReload = this.now();
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }

  private async importPublic(key: StoredSigningKey): Promise<CryptoKey> {
    return (await importJWK(key.publicJwk, key.algorithm)) as CryptoKey;
  }

  /** Rotates when due. Safe to run on every replica at once. */
  maintain(): Promise<void> {
    this.maintaining ??= (async () => {
      try {
        await this.reload();
        const now = this.now();
        const latest = [...this.keys.values()].sort((a, b) => b.stored.generation - a.stored.generation)[0];
        let created = false;
        if (latest === undefined || latest.stored.retiresAt.getTime() <= now) {
          created = await this.create((latest?.stored.generation ?? 0) + 1, now);
        } else if (latest.stored.retiresAt.getTime() - now <= this.prepublishMs) {
          created = await this.create(latest.stored.generation + 1, latest.stored.retiresAt.getTime());
        }
        if (created) await this.reload();
        await this.store.deleteExpiredBefore(new Date(now - DAY_MS));
      } finally {
        this.maintaining = undefined;
      }
    })();
    return this.maintaining;
  }

  /**
   * Rotates now instead of on schedule: a successor is published at once and signs from
   * ROTATION_PUBLISH_AHEAD_MS on, when the current key retires (it still verifies what it
   * signed until it expires, as after a scheduled rotation). A successor already due by then
   * is returned instead of making another, so repeating the call (on any replica) is harmless.
   * Other replicas switch at their next reload, at the latest at their maintenance run: they
   * may sign with the old key a little longer, which stays valid for as long as such tokens live.
   */
  async rotate(): Promise<RotatedSigningKey> {
    await this.reload();
    const now = this.now();
    const activatesAt = now + ROTATION_PUBLISH_AHEAD_MS;
    const current = this.currentKey();
    const latest = [...this.keys.values()].sort((a, b) => b.stored.generation - a.stored.generation)[0];
    if (latest !== undefined && latest !== current && latest.stored.activatesAt.getTime() <= activatesAt) {
      return this.rotated(latest, current);
    }
    const generation = (latest?.stored.generation ?? 0) + 1;
    await this.create(generation, activatesAt);
    await this.reload();
    // Another replica may have won this generation: retire to whichever successor was stored,
    // so that no instant is left without an active key.
    const made = [...this.keys.values()].find((key) => key.stored.generation === generation);
    if (made === undefined) throw new Error("the rotated signing key was not stored");
    if (current !== undefined) {
      await this.store.retireBy(current.stored.kid, made.stored.activatesAt);
      await this.reload();
    }
    return this.rotated(made, this.keys.get(current?.stored.kid ?? ""));
  }

  private rotated(successor: LoadedKey, previous: LoadedKey | undefined): RotatedSigningKey {
    return {
      kid: successor.stored.kid,
      algorithm: this.algorithm,
      activatesAt: successor.stored.activatesAt,
      previousRetiresAt: previous?.stored.retiresAt ?? successor.stored.activatesAt,
    };
  }

  private async create(generation: number, activatesAt: number): Promise<boolean> {
    const { publicKey, privateKey } = await generateKeyPair(this.algorithm, {
      extractable: true,
      ...(this.algorithm === "RS256" ? { modulusLength: 2048 } : {}),
    });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const retiresAt = activatesAt + this.options.rotationMs;
    const stored: StoredSigningKey = {
      kid,
      generation,
      algorithm: this.algorithm,
      publicJwk: { ...publicJwk, kid, alg: this.algorithm, use: "sig" },
      privateKeySealed: this.sealer.seal(JSON.stringify(await exportJWK(privateKey)), kid),
      activatesAt: new Date(activatesAt),
      retiresAt: new Date(retiresAt),
      expiresAt: new Date(retiresAt + this.options.verifyAfterRetirementMs),
    };
    const inserted = await this.store.insert(stored);
    if (inserted)
      this.logger.info({ kid, generation, activatesAt: stored.activatesAt }, "signing key created");
    return inserted;
  }

  private currentKey(): LoadedKey | undefined {
    const now = this.now();
    let best: LoadedKey | undefined;
    for (const key of this.keys.values()) {
      const { activatesAt, retiresAt, generation } = key.stored;
      if (activatesAt.getTime() <= now && now < retiresAt.getTime()) {
        if (best === undefined || generation > best.stored.generation) best = key;
      }
    }
    return best;
  }

  /** The key to sign with now. */
  async signingKey(): Promise<{ kid: string; key: CryptoKey }> {
    let current = this.currentKey();
    if (current === undefined) {
      await this.maintain();
      current = this.currentKey();
      if (current === undefined) throw new Error("no signing key is active");
    }
    const loaded = current;
    loaded.privateKey ??= importJWK(
      JSON.parse(this.sealer.open(loaded.stored.privateKeySealed, loaded.stored.kid)) as JWK,
      loaded.stored.algorithm,
    ) as Promise<CryptoKey>;
    return { kid: loaded.stored.kid, key: await loaded.privateKey };
  }

  /** The public key for a `kid`, reloading once (rate-limited) when it is unknown. Undefined if unknown or expired. */
  async verificationKey(kid: string): Promise<CryptoKey | undefined> {
    return (await this.liveKey(kid))?.publicKey;
  }

  /** The key held for a `kid` unless expired; a promise only when it is unknown and a reload is due. */
  private liveKey(kid: string): LoadedKey | undefined | Promise<LoadedKey | undefined> {
    const held = this.keys.get(kid);
    if (held !== undefined || this.now() - this.lastReload < RELOAD_ON_UNKNOWN_KID_MS)
      return this.unlessExpired(held);
    return this.reload().then(() => this.unlessExpired(this.keys.get(kid)));
  }

  private unlessExpired(key: LoadedKey | undefined): LoadedKey | undefined {
    return key === undefined || key.stored.expiresAt.getTime() <= this.now() ? undefined : key;
  }

  /**
   * verificationKey's node:crypto KeyObject: without waiting when the kid is held (the hot path),
   * else after the same rate-limited reload. Undefined if unknown or expired.
   */
  verificationKeyObject(kid: string): KeyObject | undefined | Promise<KeyObject | undefined> {
    const key = this.liveKey(kid);
    return key instanceof Promise ? key.then((loaded) => loaded?.verifyKey) : key?.verifyKey;
  }

  /** The JWK Set to publish: every key that may have signed a live token, or will sign soon. */
  jwks(): { keys: JWK[] } {
    const now = this.now();
    return {
      keys: [...this.keys.values()]
        .filter((key) => key.stored.expiresAt.getTime() > now)
        .sort((a, b) => b.stored.generation - a.stored.generation)
        .map((key) => key.stored.publicJwk),
    };
  }
}
