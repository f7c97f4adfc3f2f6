import { createHmac, createPublicKey, KeyObject, sign, verify } from "node:crypto";
import { base64url, compactVerify, generateKeyPair, SignJWT } from "jose";
import { pino } from "pino";
import { beforeEach, describe, expect, it } from "vitest";
import { MemorySigningKeyStore } from "../../../test/support/fakes/memory-signing-key-store.ts";
import { DomainError } from "../../domain/errors.ts";
import { AccessTokens } from "./access-tokens.ts";
import { withLowS } from "./ecdsa-low-s.ts";
import { Sealer } from "./sealer.ts";
import { SigningKeyRing } from "./signing-key-ring.ts";

const ISSUER = "https://gatehouse.test";
const AUDIENCE = "gatehouse";
const DAY = 86_400_000;

/** The order of P-256. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

async function rejection(promise: Promise<unknown>): Promise<{ kind: string; reason: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return { kind: error.kind, reason: error.reason };
    throw error;
  }
  throw new Error("the token was accepted");
}

describe("the built-in provider's access tokens", () => {
  let now: number;
  let ring: SigningKeyRing;
  let tokens: AccessTokens;
  const clock = () => now;

  beforeEach(async () => {
    now = Date.parse("2026-01-01T00:00:00Z");
    ring = new SigningKeyRing(
      new MemorySigningKeyStore(),
      new Sealer(Buffer.alloc(32, 7), "signing-keys"),
      pino({ level: "silent" }),
      {
        rotationMs: 30 * DAY,
        verifyAfterRetirementMs: 600_000,
        now: clock,
      },
    );
    await ring.maintain();
    tokens = new AccessTokens(ring, {
      issuer: ISSUER,
      audience: AUDIENCE,
      ttlSeconds: 300,
      clockSkewSeconds: 30,
      now: clock,
    });
  });

  const userToken = () =>
    tokens.issue({ kind: "user", subjectId: "user-1", sessionId: "session-1", clientId: "app" });

  /** The claims of a valid user token issued now. */
  const validClaims = () => {
    const seconds = Math.floor(now / 1000);
    return {
      iss: ISSUER,
      aud: AUDIENCE,
      sub: "user-1",
      sid: "session-1",
      jti: "token-1",
      iat: seconds,
      nbf: seconds,
      exp: seconds + 300,
      client_id: "app",
      gh_kind: "user",
    };
  };

  /** A token signed with our real key but with claims and header of the test's choosing. */
  async function craft(
    claims: Record<string, unknown>,
    header: Record<string, unknown> = {},
  ): Promise<string> {
    const { kid, key } = await ring.signingKey();
    return new SignJWT({ ...validClaims(), ...claims })
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid, ...header })
      .sign(key)
      .then(withLowS);
  }

  it("accepts its own tokens and reports their claims", async () => {
    const issued = await userToken();
    expect(await tokens.verifyAccessToken(issued.token)).toEqual({
      kind: "user",
      subjectId: "user-1",
      sessionId: "session-1",
      tokenId: issued.tokenId,
      clientId: "app",
      issuedAt: now / 1000,
      expiresAt: now / 1000 + 300,
    });
    const service = await tokens.issue({
      kind: "service_account",
      subjectId: "sa-1",
      sessionId: "",
      clientId: "billing",
    });
    expect(await tokens.verifyAccessToken(service.token)).toMatchObject({
      kind: "service_account",
      subjectId: "sa-1",
      sessionId: "",
      clientId: "billing",
    });
  });

  it("signs with the low s only, and refuses a signature's high-s twin", async () => {
    for (let i = 0; i < 40; i++) {
      const signature = Buffer.from((await userToken()).token.split(".")[2]!, "base64url");
      // Without normalising, WebCrypto's s is above n/2 about half the time.
      expect(BigInt(`0x${signature.subarray(32).toString("hex")}`) <= P256_N / 2n).toBe(true);
    }
    const issued = await userToken();
    const [header, payload, signature] = issued.token.split(".") as [string, string, string];
    const bytes = Buffer.from(signature, "base64url");
    const highS = P256_N - BigInt(`0x${bytes.subarray(32).toString("hex")}`);
    bytes.set(Buffer.from(highS.toString(16).padStart(64, "0"), "hex"), 32);
    const twin = `${header}.${payload}.${bytes.toString("base64url")}`;
    // A real twin: the signature verifies under our key…
    const { kid } = await ring.signingKey();
    const key = await ring.verificationKey(kid);
    await expect(compactVerify(twin, key!)).resolves.toBeDefined();
    // …but it is not our token.
    expect(await rejection(tokens.verifyAccessToken(twin))).toEqual({
      kind: "unauthenticated",
      reason: "malformed_token",
    });
    await tokens.verifyAccessToken(issued.token);
  });

  it("rejects a forged signature", async () => {
    const [header, , signature] = (await userToken()).token.split(".");
    const forgedPayload = base64url.encode(JSON.stringify({ sub: "admin", iss: ISSUER, aud: AUDIENCE }));
    expect(await rejection(tokens.verifyAccessToken(`${header}.${forgedPayload}.${signature}`))).toEqual({
      kind: "unauthenticated",
      reason: "invalid_signature",
    });
    // A token signed by another key under our kid.
    const { kid } = await ring.signingKey();
    const { privateKey } = await generateKeyPair("ES256");
    const impostor = await new SignJWT({ gh_kind: "user", sid: "s", client_id: "app" })
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject("user-1")
      .setJti("j")
      .setIssuedAt(now / 1000)
      .setNotBefore(now / 1000)
      .setExpirationTime(now / 1000 + 300)
      .sign(privateKey);
    expect((await rejection(tokens.verifyAccessToken(impostor))).reason).toBe("invalid_signature");
  });

  it('rejects alg "none"', async () => {
    const { kid } = await ring.signingKey();
    const [, payload] = (await userToken()).token.split(".");
    const header = base64url.encode(JSON.stringify({ alg: "none", typ: "at+jwt", kid }));
    expect(await rejection(tokens.verifyAccessToken(`${header}.${payload}.`))).toEqual({
      kind: "unauthenticated",
      reason: "unsupported_algorithm",
    });
  });

  it("rejects HS256 signed with our public key as the HMAC secret (algorithm confusion)", async () => {
    const { kid } = await ring.signingKey();
    const publicJwk = ring.jwks().keys[0]!;
    const [, payload] = (await userToken()).token.split(".");
    for (const secret of [JSON.stringify(publicJwk), publicJwk.x!]) {
      const header = base64url.encode(JSON.stringify({ alg: "HS256", typ: "at+jwt", kid }));
      const signature = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
      expect(await rejection(tokens.verifyAccessToken(`${header}.${payload}.${signature}`))).toEqual({
        kind: "unauthenticated",
        reason: "unsupported_algorithm",
      });
    }
    const { privateKey } = await generateKeyPair("RS256");
    const rs256 = await new SignJWT({})
      .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid })
      .sign(privateKey);
    expect((await rejection(tokens.verifyAccessToken(rs256))).reason).toBe("unsupported_algorithm");
  });

  it("rejects expired tokens, beyond the clock skew", async () => {
    const issued = await userToken();
    now += 300_000 + 29_000;
    await tokens.verifyAccessToken(issued.token);
    now += 2000;
    expect(await rejection(tokens.verifyAccessToken(issued.token))).toEqual({
      kind: "unauthenticated",
      reason: "token_expired",
    });
  });

  it("rejects tokens that are not valid yet", async () => {
    const issued = await userToken();
    now -= 60_000;
    expect(await rejection(tokens.verifyAccessToken(issued.token))).toEqual({
      kind: "unauthenticated",
      reason: "token_not_yet_valid",
    });
    now += 60_000;
    const early = await craft({ nbf: Math.floor(now / 1000) + 120 });
    expect((await rejection(tokens.verifyAccessToken(early))).reason).toBe("token_not_yet_valid");
  });

  it("rejects a wrong issuer or audience", async () => {
    expect(await rejection(tokens.verifyAccessToken(await craft({ iss: "https://evil.test" })))).toEqual({
      kind: "unauthenticated",
      reason: "wrong_issuer",
    });
    expect(await rejection(tokens.verifyAccessToken(await craft({ aud: "another-api" })))).toEqual({
      kind: "unauthenticated",
      reason: "wrong_audience",
    });
    const elsewhere = new AccessTokens(ring, {
      issuer: ISSUER,
      audience: "billing",
      ttlSeconds: 300,
      clockSkewSeconds: 30,
      now: clock,
    });
    expect((await rejection(elsewhere.verifyAccessToken((await userToken()).token))).reason).toBe(
      "wrong_audience",
    );
  });

  it("rejects unknown keys, and tokens without a kid", async () => {
    const { privateKey } = await generateKeyPair("ES256");
    const unknown = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "no-such-key" })
      .sign(privateKey);
    expect(await rejection(tokens.verifyAccessToken(unknown))).toEqual({
      kind: "unauthenticated",
      reason: "unknown_key",
    });
    const noKid = await new SignJWT({}).setProtectedHeader({ alg: "ES256", typ: "at+jwt" }).sign(privateKey);
    expect((await rejection(tokens.verifyAccessToken(noKid))).reason).toBe("unknown_key");
  });

  it("rejects malformed tokens, other token types and incomplete claims", async () => {
    for (const garbage of ["", "abc", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.e30"]) {
      expect((await rejection(tokens.verifyAccessToken(garbage))).reason).toBe("malformed_token");
    }
    expect((await rejection(tokens.verifyAccessToken(await craft({}, { typ: "JWT" })))).reason).toBe(
      "malformed_token",
    );
    expect((await rejection(tokens.verifyAccessToken(await craft({ sid: undefined })))).reason).toBe(
      "malformed_token",
    );
    expect((await rejection(tokens.verifyAccessToken(await craft({ gh_kind: "admin" })))).reason).toBe(
      "malformed_token",
    );
    expect((await rejection(tokens.verifyAccessToken(await craft({ jti: undefined })))).reason).toBe(
      "malformed_token",
    );
  });

  /** A compact ES256 JWS over exactly these header and payload bytes, signed with our real key (low s). */
  async function signRaw(header: string | Buffer, payload: string | Buffer): Promise<string> {
    const { key } = await ring.signingKey();
    const input = `${Buffer.from(header).toString("base64url")}.${Buffer.from(payload).toString("base64url")}`;
    const signature = sign("sha256", Buffer.from(input), {
      key: KeyObject.from(key),
      dsaEncoding: "ieee-p1363",
    });
    return withLowS(`${input}.${signature.toString("base64url")}`);
  }

  const reasonFor = async (token: string) => (await rejection(tokens.verifyAccessToken(token))).reason;

  it("refuses a payload altered after signing, whatever the change", async () => {
    const [header, payload, signature] = (await userToken()).token.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    for (const change of [{ sub: "admin" }, { exp: claims.exp + 3600 }, { gh_kind: "service_account" }]) {
      const altered = Buffer.from(JSON.stringify({ ...claims, ...change })).toString("base64url");
      expect(await reasonFor(`${header}.${altered}.${signature}`)).toBe("invalid_signature");
    }
    const otherHeader = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(header, "base64url").toString()), typ: "at+jwt", x: 1 }),
    ).toString("base64url");
    expect(await reasonFor(`${otherHeader}.${payload}.${signature}`)).toBe("invalid_signature");
  });

  it("takes the signature in IEEE P1363 form only, not DER", async () => {
    const { kid, key } = await ring.signingKey();
    const issued = (await userToken()).token;
    const input = issued.slice(0, issued.lastIndexOf("."));
    const der = sign("sha256", Buffer.from(input), { key: KeyObject.from(key), dsaEncoding: "der" });
    // The DER form is a valid signature of the same input under our key…
    const publicKey = createPublicKey({
      key: ring.jwks().keys.find((k) => k.kid === kid)! as never,
      format: "jwk",
    });
    expect(verify("sha256", Buffer.from(input), { key: publicKey, dsaEncoding: "der" }, der)).toBe(true);
    // …but not the token's encoding.
    expect(await reasonFor(`${input}.${der.toString("base64url")}`)).toBe("invalid_signature");
    // Nor a signature one byte short or long.
    const p1363 = Buffer.from(issued.slice(issued.lastIndexOf(".") + 1), "base64url");
    for (const wrongLength of [p1363.subarray(0, 63), Buffer.concat([p1363, Buffer.alloc(1)])]) {
      expect(await reasonFor(`${input}.${wrongLength.toString("base64url")}`)).toBe("invalid_signature");
    }
  });

  it("refuses a header naming critical extensions, even when properly signed", async () => {
    const { kid } = await ring.signingKey();
    const claims = JSON.stringify(validClaims());
    const header = (extra: object) => JSON.stringify({ alg: "ES256", typ: "at+jwt", kid, ...extra });
    // The same bytes without crit are accepted: only the extension is refused.
    await tokens.verifyAccessToken(await signRaw(header({}), claims));
    for (const crit of [{ crit: ["exp"] }, { crit: ["b64"], b64: true }, { crit: [] }, { crit: "x" }]) {
      expect(await reasonFor(await signRaw(header(crit), claims))).toBe("malformed_token");
    }
  });

  it("refuses signed tokens whose header or payload is not a JSON object in valid UTF-8", async () => {
    const { kid } = await ring.signingKey();
    const header = JSON.stringify({ alg: "ES256", typ: "at+jwt", kid });
    const valid = await craft({});
    const [, payload] = valid.split(".");
    const claims = Buffer.from(payload!, "base64url").toString();
    // A stray byte inside a string value: a lenient decoder would read U+FFFD and accept the claims.
    const badUtf8 = Buffer.from(claims.replace('"client_id":"app"', '"client_id":"app\u0000"'));
    badUtf8[badUtf8.indexOf(0)] = 0xff;
    expect(badUtf8.includes(0xff)).toBe(true);
    for (const bad of ["[]", "null", '"a string"', "{not json", badUtf8]) {
      expect(await reasonFor(await signRaw(header, bad))).toBe("malformed_token");
    }
    for (const badHeader of [
      `[${header}]`,
      Buffer.concat([Buffer.from(header.slice(0, -1)), Buffer.from([0xc3, 0x28, 0x7d])]),
    ]) {
      expect(await reasonFor(await signRaw(badHeader, Buffer.from(payload!, "base64url")))).toBe(
        "malformed_token",
      );
    }
  });

  it("takes one encoding of a token: no padding, no stray bits, no other characters", async () => {
    const valid = await craft({});
    await tokens.verifyAccessToken(valid);
    const [header, payload, signature] = valid.split(".") as [string, string, string];
    const nudged = (segment: string) => {
      // The last character of a segment whose length is not a multiple of 4 carries unused bits.
      const last = segment.charCodeAt(segment.length - 1);
      return `${segment.slice(0, -1)}${String.fromCharCode(last + 1)}`;
    };
    const variants = [
      `${valid}=`,
      `${header}.${payload}.${signature}==`,
      `${header}.${payload}=.${signature}`,
      `${header}.${payload}.${signature.slice(0, 20)}+${signature.slice(21)}`,
      `${header}.${payload}.${signature}.`,
      ` ${valid}`,
    ];
    if (payload.length % 4 !== 0) variants.push(`${header}.${nudged(payload)}.${signature}`);
    if (signature.length % 4 !== 0) variants.push(`${header}.${payload}.${nudged(signature)}`);
    for (const variant of variants) expect(await reasonFor(variant)).toBe("malformed_token");
  });

  it("requires each registered claim, of its type", async () => {
    for (const claim of ["iss", "aud", "sub", "jti", "iat", "nbf", "exp"]) {
      expect(await rejection(tokens.verifyAccessToken(await craft({ [claim]: undefined })))).toMatchObject({
        kind: "unauthenticated",
      });
    }
    for (const wrongType of [
      { exp: String(Math.floor(now / 1000) + 300) },
      { nbf: "0" },
      { iat: null },
      { sub: 7 },
      { jti: {} },
    ]) {
      expect(await reasonFor(await craft(wrongType))).toBe("malformed_token");
    }
    // aud as a list holding our audience is ours (RFC 7519 §4.1.3); a list without it is not.
    await tokens.verifyAccessToken(await craft({ aud: ["billing", AUDIENCE] }));
    expect(await reasonFor(await craft({ aud: ["billing", "orders"] }))).toBe("wrong_audience");
    expect(await reasonFor(await craft({ iss: [ISSUER] }))).toBe("wrong_issuer");
  });

  it("applies the clock skew to nbf and exp at their boundaries", async () => {
    const seconds = Math.floor(now / 1000);
    await tokens.verifyAccessToken(await craft({ nbf: seconds + 30 }));
    expect(await reasonFor(await craft({ nbf: seconds + 31 }))).toBe("token_not_yet_valid");
    await tokens.verifyAccessToken(await craft({ exp: seconds - 29 }));
    expect(await reasonFor(await craft({ exp: seconds - 30 }))).toBe("token_expired");
  });

  it("rotates keys with overlap: the successor is published first, the retired key verifies until its tokens expire", async () => {
    const start = now;
    const firstKid = (await ring.signingKey()).kid;
    expect(ring.jwks().keys.map((key) => key.kid)).toEqual([firstKid]);

    now = start + 30 * DAY - DAY / 2; // within a day of retirement: the successor is published, not yet used
    await ring.maintain();
    expect(ring.jwks().keys).toHaveLength(2);
    expect((await ring.signingKey()).kid).toBe(firstKid);

    now = start + 30 * DAY - 60_000;
    const lastOfFirstKey = await userToken();
    now = start + 30 * DAY + 60_000; // retired: the successor signs, the old key still verifies its live tokens
    const secondKid = (await ring.signingKey()).kid;
    expect(secondKid).not.toBe(firstKid);
    const firstOfSecondKey = await userToken();
    expect(JSON.parse(Buffer.from(firstOfSecondKey.token.split(".")[0]!, "base64url").toString()).kid).toBe(
      secondKid,
    );
    await tokens.verifyAccessToken(firstOfSecondKey.token);
    await tokens.verifyAccessToken(lastOfFirstKey.token);
    expect(ring.jwks().keys.map((key) => key.kid)).toContain(firstKid);

    now = start + 30 * DAY + 600_001; // past the overlap: the old key is no longer published
    await ring.maintain();
    expect(ring.jwks().keys.map((key) => key.kid)).toEqual([secondKid]);
    expect(await ring.verificationKey(firstKid)).toBeUndefined();
  });

  it("lets replicas racing to rotate agree on one key per generation", async () => {
    const store = new MemorySigningKeyStore();
    const replicas = [1, 2, 3].map(
      () =>
        new SigningKeyRing(
          store,
          new Sealer(Buffer.alloc(32, 7), "signing-keys"),
          pino({ level: "silent" }),
          {
            rotationMs: 30 * DAY,
            verifyAfterRetirementMs: 600_000,
            now: clock,
          },
        ),
    );
    await Promise.all(replicas.map((replica) => replica.maintain()));
    expect(store.keys.size).toBe(1);
    const kids = await Promise.all(replicas.map(async (replica) => (await replica.signingKey()).kid));
    expect(new Set(kids).size).toBe(1);
  });

  it("keeps private keys sealed at rest", async () => {
    const store = new MemorySigningKeyStore();
    const options = { rotationMs: 30 * DAY, verifyAfterRetirementMs: 600_000, now: clock };
    const sealer = new Sealer(Buffer.alloc(32, 7), "signing-keys");
    await new SigningKeyRing(store, sealer, pino({ level: "silent" }), options).maintain();
    const [stored] = store.keys.values();
    const privateJwk = JSON.parse(sealer.open(stored!.privateKeySealed, stored!.kid));
    expect(stored!.privateKeySealed).toMatch(/^v1\./);
    expect(stored!.privateKeySealed).not.toContain(privateJwk.d);
    expect(stored!.publicJwk).not.toHaveProperty("d");
    // Another key-encryption key cannot open it.
    const other = new SigningKeyRing(
      store,
      new Sealer(Buffer.alloc(32, 8), "signing-keys"),
      pino({ level: "silent" }),
      options,
    );
    await other.maintain();
    await expect(other.signingKey()).rejects.toThrow();
  });
});
