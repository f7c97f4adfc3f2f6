import { Secret, TOTP } from "otpauth";
import QRCode from "qrcode";
import type { CoordinationStore } from "../../domain/ports/coordination-store.ts";

const PERIOD_SECONDS = 30;
const DIGITS = 6;
/** Codes of the previous and next period are accepted too (clock drift between phone and server). */
const WINDOW = 1;

/**
 * RFC 6238 TOTP (SHA-1, 6 digits, 30 s — what every authenticator app
 * supports). A code that worked once is refused afterwards: the time step it
 * matched is marked used in the coordination store, shared by every replica.
 * With the store unreachable a right code is neither accepted nor counted as
 * wrong: the call answers UNAVAILABLE (coordination_unavailable), since
 * accepting it unmarked would allow a replay and a local marker would not be
 * seen by the other replicas.
 */
export class Totp {
  private readonly store: CoordinationStore;
  private readonly issuer: string;
  private readonly now: () => number;

  constructor(store: CoordinationStore, issuer: string, now: () => number = Date.now) {
    this.store = store;
    this.issuer = issuer;
    this.now = now;
  }

  private totp(secret: string, label = "account"): TOTP {
    return new TOTP({
      issuer: this.issuer,
      label,
      algorithm: "SHA1",
      digits: DIGITS,
      period: PERIOD_SECONDS,
      secret: Secret.fromBase32(secret),
    });
  }

  /** A new 160-bit secret, base32. */
  newSecret(): string {
    return new Secret({ size: 20 }).base32;
  }

  async enrollment(
    secret: string,
    accountName: string,
  ): Promise<{ otpauthUri: string; qrCodePng: Uint8Array }> {
    const otpauthUri = this.totp(secret, accountName).toString();
    const qrCodePng = await QRCode.toBuffer(otpauthUri, { type: "png", errorCorrectionLevel: "M" });
    return { otpauthUri, qrCodePng: new Uint8Array(qrCodePng) };
  }

  /** True when the code is right for now and was not used before by this user. */
  async verify(userId: string, secret: string, code: string): Promise<boolean> {
    const totp = this.totp(secret);
    const timestamp = this.now();
    const delta = totp.validate({ token: code, timestamp, window: WINDOW });
    if (delta === null) return false;
    const step = totp.counter({ timestamp }) + delta;
    // Long enough to outlive every period in which this step's code is accepted.
    const ttlMs = (2 * WINDOW + 2) * PERIOD_SECONDS * 1000;
    return this.store.setIfAbsent(`totp:used:${userId}:${step}`, "1", ttlMs);
  }

  /** The code for a moment (tests and tools). */
  static generate(secret: string, timestamp: number = Date.now()): string {
    return new TOTP({
      algorithm: "SHA1",
      digits: DIGITS,
      period: PERIOD_SECONDS,
      secret: Secret.fromBase32(secret),
    }).generate({
      timestamp,
    });
  }
}
