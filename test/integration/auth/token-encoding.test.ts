import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson } from "../../support/connect-json.ts";
import { createService, createUser, setGrants } from "../../support/fixtures.ts";
import { startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import { AUTH, IDENTITY_ENV, loginTokens, TEST_ADMIN } from "../../support/identity.ts";

const CHECK = "envoy.service.auth.v3.Authorization/Check";
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** The order of P-256. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** Other strings for the same token: same claims, same key, same signature value. */
function variants(token: string): Record<string, string> {
  const [header, payload, signature] = token.split(".") as [string, string, string];
  // 64 signature bytes are 86 characters: the last one carries 4 unused bits.
  const last = ALPHABET.indexOf(signature.at(-1)!);
  const bytes = Buffer.from(signature, "base64url");
  const s = BigInt(`0x${bytes.subarray(32).toString("hex")}`);
  bytes.set(Buffer.from((P256_N - s).toString(16).padStart(64, "0"), "hex"), 32);
  return {
    "padding appended": `${token}==`,
    "unused low bits flipped": `${header}.${payload}.${signature.slice(0, -1)}${ALPHABET[last ^ 1]}`,
    "the high-s twin of the signature": `${header}.${payload}.${bytes.toString("base64url")}`,
  };
}

describe("one token, one string: non-canonical encodings (postgres)", () => {
  let server: TestGatehouse;
  let token: string;
  let slug: string;
  beforeAll(async () => {
    server = await startTestGatehouse({ backend: "postgres", env: IDENTITY_ENV });
    const admin = (await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    const service = await createService(server.url, admin);
    slug = service.slug;
    const user = await createUser(server.url, admin);
    await setGrants(server.url, admin, user.id, [{ serviceId: service.id, role: "viewer" }]);
    token = (await loginTokens(server.url, user.username, user.password)).accessToken;
  });
  afterAll(async () => {
    await server?.stop();
  });

  const verify = (candidate: string) => postJson(server.url, `${AUTH}/VerifyToken`, { token: candidate });
  const check = (candidate: string) =>
    postJson(server.url, CHECK, {
      attributes: {
        request: { http: { method: "GET", path: "/", headers: { authorization: `Bearer ${candidate}` } } },
        contextExtensions: { service: slug },
      },
    });

  it("accepts the token as issued", async () => {
    expect((await verify(token)).status).toBe(200);
    expect((await check(token)).body.status).toEqual({ code: 0, message: "", details: [] });
  });

  it.each(["padding appended", "unused low bits flipped", "the high-s twin of the signature"])(
    "refuses the token with %s, on VerifyToken and Check",
    async (name) => {
      const variant = variants(token)[name]!;
      expect(variant).not.toBe(token);
      // Twice: the second answer comes from the caches, which must not have learnt it either.
      for (let i = 0; i < 2; i++) {
        const verified = await verify(variant);
        expect(verified.body).toMatchObject({ code: "unauthenticated" });
        expect(JSON.stringify(verified.body)).toContain("malformed_token");
        const checked = await check(variant);
        expect(checked.body.status).toMatchObject({ code: 16 });
        expect(JSON.stringify(checked.body)).toContain("malformed_token");
      }
      // The real token still works (its cache entry is its own).
      expect((await check(token)).body.status).toMatchObject({ code: 0 });
    },
  );
});
