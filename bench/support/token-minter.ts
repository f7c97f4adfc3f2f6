import { createPrivateKey, type KeyObject, randomUUID, sign } from "node:crypto";
import pg from "pg";
import { withLowS } from "../../src/identity/local/ecdsa-low-s.ts";
import { parseKeyEncryptionKey, Sealer } from "../../src/identity/local/sealer.ts";
import type { BenchServer } from "./gatehouse-server.ts";

/** What a load generator needs to mint tokens itself (passed to its process as JSON). */
export interface MintingMaterial {
  /** The server's active signing key, as a private JWK. */
  readonly privateJwk: Record<string, unknown>;
  /** base64url of the protected header of a token the server issued. */
  readonly header: string;
  /** The claims of a token the server issued; jti, iat, nbf and exp are replaced per token. */
  readonly claims: Record<string, unknown>;
}

/**
 * Validly signed access tokens without a sign-in each: a million sign-ins
 * would cost a million argon2id hashes. The benchmark process reads the
 * server's active signing key from its database and opens it with the
 * server's own Sealer and the KEY_ENCRYPTION_KEY the server was started
 * with, then signs copies of a token the server really issued (same header,
 * same claims) with a fresh jti and times. The server verifies them like any
 * other token; the benchmarks check that it accepts a sample first.
 */
export async function loadMintingMaterial(
  databaseUrl: string,
  keyEncryptionKey: string,
  issuedToken: string,
): Promise<MintingMaterial> {
  const [header, payload] = issuedToken.split(".") as [string, string];
  const { kid } = JSON.parse(Buffer.from(header, "base64url").toString()) as { kid: string };
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ private_key_sealed: string }>(
      "SELECT private_key_sealed FROM signing_keys WHERE kid = $1",
      [kid],
    );
    if (rows.length !== 1) throw new Error(`signing key ${kid} not found`);
    const rootKey = parseKeyEncryptionKey(keyEncryptionKey);
    if (rootKey === undefined) throw new Error("bad KEY_ENCRYPTION_KEY");
    const privateJwk = JSON.parse(new Sealer(rootKey, "signing-keys").open(rows[0]!.private_key_sealed, kid));
    return { privateJwk, header, claims: JSON.parse(Buffer.from(payload, "base64url").toString()) };
  } finally {
    await client.end();
  }
}

/** Signs fresh tokens (ES256, as the server does) from minting material. */
export class TokenMinter {
  private readonly key: KeyObject;
  private readonly header: string;
  private readonly claims: Record<string, unknown>;
  private readonly lifetime: number;

  constructor(material: MintingMaterial) {
    this.key = createPrivateKey({ key: material.privateJwk as never, format: "jwk" });
    this.header = material.header;
    this.claims = material.claims;
    this.lifetime = Number(material.claims.exp) - Number(material.claims.iat);
  }

  mint(): string {
    const now = Math.floor(Date.now() / 1000);
    const claims = { ...this.claims, jti: randomUUID(), iat: now, nbf: now, exp: now + this.lifetime };
    const input = `${this.header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
    const signature = sign("sha256", Buffer.from(input), { key: this.key, dsaEncoding: "ieee-p1363" });
    // The server refuses a signature's high-s twin (src/identity/local/ecdsa-low-s.ts), as it signs.
    return withLowS(`${input}.${signature.toString("base64url")}`);
  }

  /** A token that looks right but whose signature was made with another key: a forgery. */
  forge(): string {
    const token = this.mint();
    const dot = token.lastIndexOf(".");
    const signature = Buffer.from(token.slice(dot + 1), "base64url");
    signature[7] = signature[7]! ^ 0xff;
    signature[40] = signature[40]! ^ 0xff;
    return `${token.slice(0, dot)}.${signature.toString("base64url")}`;
  }
}

/** A minter for a deployment's first server, copying a token it issued. */
export async function minterFor(
  deployment: { readonly database: { readonly url: string }; readonly servers: readonly BenchServer[] },
  issuedToken: string,
): Promise<TokenMinter> {
  const server = deployment.servers[0]!;
  return new TokenMinter(
    await loadMintingMaterial(deployment.database.url, server.env.KEY_ENCRYPTION_KEY!, issuedToken),
  );
}
