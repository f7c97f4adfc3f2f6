import { createHmac } from "node:crypto";
import { base64url, createRemoteJWKSet, decodeJwt, generateKeyPair, jwtVerify, SignJWT } from "jose";
import { allowInsecureRequests, discovery } from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../harness/free-port.ts";
import { BACKENDS, startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";
import {
  AUTH,
  fails,
  grpc,
  grpcFails,
  IDENTITY_ENV,
  identityClients,
  loginTokens,
  ok,
  signUpAndLogin,
  TEST_ADMIN,
  USERS,
} from "../../support/identity.ts";

describe.each(BACKENDS)("access-token security over the wire (%s)", (backend) => {
  let server: TestGatehouse;
  let clients: ReturnType<typeof identityClients>;
  let issuer: string;

  beforeAll(async () => {
    // The issuer must be the URL clients discover us at, so the port is chosen first.
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    server = await startTestGatehouse({
      backend,
      env: { ...IDENTITY_ENV, PORT: String(port), ISSUER: issuer },
    });
    clients = identityClients(server.url);
  });
  afterAll(async () => {
    clients?.close();
    await server?.stop();
  });

  const rejectedReason = async (token: string) => {
    const failure = await fails(server.url, `${AUTH}/GetMe`, {}, token);
    expect(failure.code).toBe("unauthenticated");
    // Never a stack trace or an internal message.
    expect(failure.message).not.toMatch(/at .*\.ts|Error:/);
    return failure.reason;
  };

  it("rejects a forged signature, alg none, HS256 keyed with our public key, and an unknown key", async () => {
    const { tokens } = await signUpAndLogin(server.url);
    const [header, payload, signature] = tokens.accessToken.split(".");
    const claims = decodeJwt(tokens.accessToken);

    const forgedPayload = base64url.encode(
      JSON.stringify({ ...claims, sub: "00000000-0000-4000-8000-000000000000" }),
    );
    expect(await rejectedReason(`${header}.${forgedPayload}.${signature}`)).toBe("invalid_signature");

    const { kid } = JSON.parse(Buffer.from(header!, "base64url").toString());
    const none = base64url.encode(JSON.stringify({ alg: "none", typ: "at+jwt", kid }));
    expect(await rejectedReason(`${none}.${payload}.`)).toBe("unsupported_algorithm");

    const jwks: any = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
    const hs256 = base64url.encode(JSON.stringify({ alg: "HS256", typ: "at+jwt", kid }));
    const hmac = createHmac("sha256", JSON.stringify(jwks.keys[0]))
      .update(`${hs256}.${payload}`)
      .digest("base64url");
    expect(await rejectedReason(`${hs256}.${payload}.${hmac}`)).toBe("unsupported_algorithm");

    const { privateKey } = await generateKeyPair("ES256");
    const stranger = await new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "someone-elses-key" })
      .sign(privateKey);
    expect(await rejectedReason(stranger)).toBe("unknown_key");
    const impostor = await new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid })
      .sign(privateKey);
    expect(await grpcFails(clients.auth, "getMe", {}, clients.bearer(impostor))).toEqual({
      code: grpc.status.UNAUTHENTICATED,
      reason: "invalid_signature",
    });
  });

  it("rejects the tokens of an ended session and of a disabled user at once", async () => {
    const loggedOut = await signUpAndLogin(server.url);
    await ok(server.url, `${AUTH}/Logout`, {}, loggedOut.tokens.accessToken);
    expect(await rejectedReason(loggedOut.tokens.accessToken)).toBe("session_revoked");

    const disabled = await signUpAndLogin(server.url);
    await ok(server.url, `${AUTH}/GetMe`, {}, disabled.tokens.accessToken);
    const admin = await loginTokens(server.url, TEST_ADMIN.username, TEST_ADMIN.password);
    await ok(
      server.url,
      `${USERS}/UpdateUser`,
      { userId: disabled.id, status: "USER_STATUS_DISABLED" },
      admin.accessToken,
    );
    expect(["session_revoked", "subject_revoked"]).toContain(
      await rejectedReason(disabled.tokens.accessToken),
    );
    expect(
      (await grpcFails(clients.auth, "getMe", {}, clients.bearer(disabled.tokens.accessToken))).code,
    ).toBe(grpc.status.UNAUTHENTICATED);
  });

  it("publishes discovery and JWKS so that an OIDC client library verifies our tokens", async () => {
    const configuration = await discovery(new URL(issuer), "gatehouse-test-client", undefined, undefined, {
      execute: [allowInsecureRequests],
    });
    const metadata = configuration.serverMetadata();
    expect(metadata.issuer).toBe(issuer);
    expect(metadata.jwks_uri).toBe(`${issuer}/.well-known/jwks.json`);

    const { tokens } = await signUpAndLogin(server.url);
    const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri!));
    const { payload, protectedHeader } = await jwtVerify(tokens.accessToken, jwks, {
      issuer: metadata.issuer,
      audience: "gatehouse",
      typ: "at+jwt",
      algorithms: ["ES256"],
    });
    expect(protectedHeader.alg).toBe("ES256");
    expect(payload.sid).toBe(tokens.sessionId);

    const keys: any = await (await fetch(metadata.jwks_uri!)).json();
    // The ES256 ring (access tokens) and the RS256 ring (ID tokens, #13): public parts only.
    for (const key of keys.keys) {
      if (key.kty === "RSA") expect(key).toMatchObject({ alg: "RS256", use: "sig" });
      else expect(key).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
      for (const secret of ["d", "p", "q", "dp", "dq", "qi"]) expect(key).not.toHaveProperty(secret);
    }
    expect(new Set(keys.keys.map((key: { alg: string }) => key.alg))).toEqual(new Set(["ES256", "RS256"]));
  });
});
