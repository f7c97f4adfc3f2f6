import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { MemoryOidcClientDirectory } from "../../../test/support/fakes/memory-oidc-client-directory.ts";
import { MemoryCoordinationStore } from "../../cache/memory-coordination-store.ts";
import { authenticateClient, JWT_BEARER_ASSERTION, presentedClient } from "./client-authentication.ts";

const TOKEN_ENDPOINT = "https://id.example/oidc/token";
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;

function setup() {
  const clients = new MemoryOidcClientDirectory();
  clients.add({ clientId: "spa" });
  clients.add({ clientId: "web app", type: "confidential" }, "p@ss:word+1");
  const deps = {
    clients,
    audiences: ["https://id.example", TOKEN_ENDPOINT],
    store: new MemoryCoordinationStore(),
    clockSkewSeconds: 5,
  };
  return { clients, deps };
}

const form = (entries: Record<string, string>) => new Map(Object.entries(entries));

describe("client authentication (RFC 6749 §2.3, OIDC Core §9)", () => {
  it("client_secret_basic decodes form-urlencoded id and secret", async () => {
    const { deps } = setup();
    const client = await authenticateClient(presentedClient(basic("web app", "p@ss:word+1"), form({})), deps);
    expect(client.clientId).toBe("web app");
  });

  it("client_secret_post", async () => {
    const { deps } = setup();
    const presented = presentedClient(
      undefined,
      form({ client_id: "web app", client_secret: "p@ss:word+1" }),
    );
    expect((await authenticateClient(presented, deps)).clientId).toBe("web app");
  });

  it("a wrong secret, an unknown client, a public client with a secret: invalid_client", async () => {
    const { deps } = setup();
    for (const presented of [
      presentedClient(basic("web app", "wrong"), form({})),
      presentedClient(basic("nobody", "p@ss:word+1"), form({})),
      presentedClient(basic("spa", "anything"), form({})),
      presentedClient(undefined, form({ client_id: "web app" })),
      undefined,
    ]) {
      await expect(authenticateClient(presented, deps)).rejects.toMatchObject({ error: "invalid_client" });
    }
  });

  it("a public client is known by its id alone", async () => {
    const { deps } = setup();
    expect(
      (await authenticateClient(presentedClient(undefined, form({ client_id: "spa" })), deps)).clientId,
    ).toBe("spa");
  });

  it("two methods at once, or a client_id naming another client: invalid_request", () => {
    expect(() =>
      presentedClient(basic("web app", "x"), form({ client_id: "web app", client_secret: "x" })),
    ).toThrow(expect.objectContaining({ error: "invalid_request" }));
    expect(() => presentedClient(basic("web app", "x"), form({ client_id: "spa" }))).toThrow(
      expect.objectContaining({ error: "invalid_request" }),
    );
  });

  it("private_key_jwt: a signed assertion, single use", async () => {
    const { clients, deps } = setup();
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" };
    clients.add({
      clientId: "backend",
      type: "confidential",
      tokenEndpointAuthMethod: "private_key_jwt",
      jwks: JSON.stringify({ keys: [jwk] }),
    });
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer("backend")
      .setSubject("backend")
      .setAudience(TOKEN_ENDPOINT)
      .setJti("one")
      .setExpirationTime("1m")
      .sign(privateKey);
    const presented = presentedClient(
      undefined,
      form({ client_assertion: assertion, client_assertion_type: JWT_BEARER_ASSERTION }),
    );
    expect((await authenticateClient(presented, deps)).clientId).toBe("backend");
    await expect(authenticateClient(presented, deps)).rejects.toMatchObject({ error: "invalid_client" });
    // Secrets are not accepted from a client that registered private_key_jwt.
    await expect(
      authenticateClient(presentedClient(basic("backend", "s3cret-of-the-client"), form({})), deps),
    ).rejects.toMatchObject({
      error: "invalid_client",
    });
    // An assertion signed by another key.
    const other = await generateKeyPair("ES256");
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer("backend")
      .setSubject("backend")
      .setAudience(TOKEN_ENDPOINT)
      .setJti("two")
      .setExpirationTime("1m")
      .sign(other.privateKey);
    await expect(
      authenticateClient(
        presentedClient(
          undefined,
          form({ client_assertion: forged, client_assertion_type: JWT_BEARER_ASSERTION }),
        ),
        deps,
      ),
    ).rejects.toMatchObject({ error: "invalid_client" });
  });
});
