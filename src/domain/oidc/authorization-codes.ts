import { hashOpaqueToken, newOpaqueToken } from "../opaque-token.ts";
import type { CoordinationStore } from "../ports/coordination-store.ts";

/** What an authorization code stands for, bound at issue (RFC 6749 §4.1.2, RFC 7636 §4.4). */
export interface CodeGrant {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  readonly nonce: string | undefined;
  readonly codeChallenge: string | undefined;
  readonly sessionId: string;
  readonly userId: string;
  readonly audience: string | undefined;
}

export type CodeRedemption =
  | { readonly kind: "redeemed"; readonly grant: CodeGrant }
  /** Presented before: the caller must revoke what the code issued (RFC 6749 §4.1.2). */
  | { readonly kind: "replayed"; readonly grant: CodeGrant }
  | { readonly kind: "unknown" };

/** RFC 6749 §4.1.2 recommends at most ten minutes; a browser redirect takes seconds. */
export const CODE_LIFETIME_MS = 60_000;
/** The record outlives the code so that a late replay is still recognised (and revokes). */
const CODE_RECORD_MS = 10 * 60_000;

interface StoredCode extends CodeGrant {
  readonly expiresAt: number;
}

/**
 * Authorization codes in the coordination store (Redis in production): 256
 * random bits, stored by hash, single use across replicas (the first
 * redemption sets a marker atomically; any later one is a replay).
 */
export class AuthorizationCodes {
  private readonly store: CoordinationStore;
  private readonly now: () => number;

  constructor(store: CoordinationStore, now: () => number = Date.now) {
    this.store = store;
    this.now = now;
  }

  async issue(grant: CodeGrant): Promise<string> {
    const code = newOpaqueToken();
    const stored: StoredCode = { ...grant, expiresAt: this.now() + CODE_LIFETIME_MS };
    await this.store.set(`oidc:code:${hashOpaqueToken(code)}`, JSON.stringify(stored), CODE_RECORD_MS);
    return code;
  }

  async redeem(code: string): Promise<CodeRedemption> {
    const key = hashOpaqueToken(code);
    const value = await this.store.get(`oidc:code:${key}`);
    if (value === undefined) return { kind: "unknown" };
    const stored = JSON.parse(value) as StoredCode;
    const { expiresAt, ...grant } = stored;
    if (!(await this.store.setIfAbsent(`oidc:code-used:${key}`, "1", CODE_RECORD_MS))) {
      return { kind: "replayed", grant };
    }
    if (expiresAt <= this.now()) return { kind: "unknown" };
    return { kind: "redeemed", grant };
  }
}
