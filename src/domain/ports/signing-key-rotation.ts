/** A successor signing key an on-demand rotation made (or found already pending). */
export interface RotatedSigningKey {
  readonly kid: string;
  readonly algorithm: string;
  /** When it starts signing: after verifiers caching the JWKS have seen it. */
  readonly activatesAt: Date;
  /** When the key it replaces stops signing (it keeps verifying what it signed). */
  readonly previousRetiresAt: Date;
}

/** The built-in provider's signing keys, rotated now rather than on schedule. */
export interface SigningKeyRotation {
  rotate(): Promise<readonly RotatedSigningKey[]>;
}
