import { createHash, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MemoryAuditRepository } from "../../../test/support/fakes/memory-audit-repository.ts";
import { MemoryOidcClientDirectory } from "../../../test/support/fakes/memory-oidc-client-directory.ts";
import { MemoryUserRepository } from "../../../test/support/fakes/memory-user-repository.ts";
import { MemoryCoordinationStore } from "../../cache/memory-coordination-store.ts";
import { createLogger } from "../../observability/logger.ts";
import { AuditLog } from "../audit/audit-log.ts";
import type { IdTokenSigner, LiveSession, OidcSessions } from "../ports/oidc-sessions.ts";
import type { TokenGrant } from "../ports/session-store.ts";
import { checkAuthorizationRequest } from "./authorization-request.ts";
import { accessTokenHash } from "./id-token-claims.ts";
import { OpenIdProvider } from "./openid-provider.ts";

const ISSUER = "https://id.example";
const REDIRECT = "https://app.example/callback";
const VERIFIER = "v".repeat(43);
const CHALLENGE = createHash("sha256").update(VERIFIER).digest("base64url");
const requester = { ip: "10.0.0.1", requestId: "r-1", userAgent: "test" };

/** Sessions in memory: live until ended; tokens are labelled strings. */
class FakeSessions implements OidcSessions {
  readonly live_ = new Map<string, LiveSession>();
  readonly ended: string[] = [];
  readonly issued: TokenGrant[] = [];
  async live(id: string) {
    return this.live_.get(id);
  }
  async issueForClient(sessionId: string, grant: TokenGrant, options: { withRefreshToken: boolean }) {
    if (!this.live_.has(sessionId)) return undefined;
    this.issued.push(grant);
    return {
      accessToken: `at-${this.issued.length}`,
      accessTokenExpiresAt: new Date(Date.now() + 300_000),
      refreshToken: options.withRefreshToken ? `rt-${this.issued.length}` : "",
      refreshTokenExpiresAt: undefined,
      sessionId,
      scope: grant.scope,
      tokenId: randomUUID(),
    };
  }
  async grantOf() {
    return undefined;
  }
  async refresh(): Promise<never> {
    throw new Error("not used");
  }
  async end(sessionId: string) {
    this.ended.push(sessionId);
    const session = this.live_.get(sessionId);
    this.live_.delete(sessionId);
    return session === undefined ? undefined : { sessionId, userId: session.userId };
  }
}

const signer: IdTokenSigner = {
  sign: async (claims, algorithm) =>
    `${algorithm}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`,
  verifyHint: async (token) =>
    token.startsWith("RS256.") ? JSON.parse(Buffer.from(token.slice(6), "base64url").toString()) : undefined,
};

async function world() {
  let now = 1_800_000_000_000;
  const clients = new MemoryOidcClientDirectory();
  clients.add({ clientId: "spa" });
  clients.add({ clientId: "partner", firstParty: false });
  const sessions = new FakeSessions();
  const users = new MemoryUserRepository();
  const store = new MemoryCoordinationStore(() => now);
  const audit = new MemoryAuditRepository();
  const user = await users.create({
    id: randomUUID(),
    username: "ada",
    email: "ada@example.test",
    emailVerified: true,
    profile: { firstName: "Ada", lastName: "Lovelace" },
    roles: [],
  });
  sessions.live_.set("s-1", { id: "s-1", userId: user.id, authTime: new Date(now - 1000), amr: ["pwd"] });
  const provider = new OpenIdProvider({
    settings: { issuer: ISSUER, audience: "gatehouse", idTokenTtlSeconds: 300, accessTokenTtlSeconds: 300 },
    clients,
    sessions,
    signer,
    users,
    store,
    audit: new AuditLog(audit, createLogger("silent")),
    audienceOf: async (resource) =>
      resource === "https://billing.example" ? "https://billing.example" : undefined,
    now: () => now,
  });
  return { provider, sessions, audit, user, clients, tick: (ms: number) => (now += ms) };
}

const params = (overrides: Record<string, string | undefined> = {}) => {
  const all: Record<string, string | undefined> = {
    response_type: "code",
    client_id: "spa",
    redirect_uri: REDIRECT,
    scope: "openid profile",
    state: "s",
    nonce: "n",
    code_challenge: CHALLENGE,
    code_challenge_method: "S256",
    ...overrides,
  };
  return new Map(Object.entries(all).filter((entry): entry is [string, string] => entry[1] !== undefined));
};

const codeOf = (location: string) => new URL(location).searchParams.get("code")!;
const form = (entries: Record<string, string>) => new Map(Object.entries(entries));

describe("OpenIdProvider", () => {
  it("signed in: a code bound to the request, exchanged once for tokens and an ID token with nonce and at_hash", async () => {
    const { provider, sessions, user, clients } = await world();
    const outcome = await provider.authorize(params(), "s-1", requester);
    expect(outcome.kind).toBe("redirect");
    const location = (outcome as { location: string }).location;
    expect(new URL(location).searchParams.get("iss")).toBe(ISSUER);
    const client = (await clients.find("spa"))!;
    const response = await provider.exchangeCode(
      client,
      form({ code: codeOf(location), redirect_uri: REDIRECT, code_verifier: VERIFIER }),
      requester,
    );
    expect(response).toMatchObject({ token_type: "Bearer", scope: "openid profile", refresh_token: "rt-1" });
    const claims = JSON.parse(Buffer.from(response.id_token!.split(".")[1]!, "base64url").toString());
    expect(claims).toMatchObject({
      iss: ISSUER,
      sub: user.id,
      aud: "spa",
      nonce: "n",
      sid: "s-1",
      amr: ["pwd"],
    });
    expect(claims.at_hash).toBe(accessTokenHash(response.access_token));
    expect(sessions.issued[0]).toEqual({ clientId: "spa", scope: "openid profile", audience: ["gatehouse"] });
  });

  it("a code older than 60 seconds is refused (and does not end the session)", async () => {
    const { provider, sessions, clients, tick } = await world();
    const outcome = (await provider.authorize(params(), "s-1", requester)) as { location: string };
    tick(61_000);
    await expect(
      provider.exchangeCode(
        (await clients.find("spa"))!,
        form({ code: codeOf(outcome.location), redirect_uri: REDIRECT, code_verifier: VERIFIER }),
        requester,
      ),
    ).rejects.toMatchObject({ error: "invalid_grant" });
    expect(sessions.ended).toEqual([]);
  });

  it("a replayed code ends the session it came from", async () => {
    const { provider, sessions, clients } = await world();
    const outcome = (await provider.authorize(params(), "s-1", requester)) as { location: string };
    const client = (await clients.find("spa"))!;
    const body = form({ code: codeOf(outcome.location), redirect_uri: REDIRECT, code_verifier: VERIFIER });
    await provider.exchangeCode(client, body, requester);
    await expect(provider.exchangeCode(client, body, requester)).rejects.toMatchObject({
      error: "invalid_grant",
    });
    expect(sessions.ended).toEqual(["s-1"]);
  });

  it("not signed in: the sign-in step, or login_required with prompt=none", async () => {
    const { provider } = await world();
    expect((await provider.authorize(params(), undefined, requester)).kind).toBe("sign_in");
    const none = (await provider.authorize(params({ prompt: "none" }), undefined, requester)) as {
      location: string;
    };
    expect(new URL(none.location).searchParams.get("error")).toBe("login_required");
    // An ended session is no session.
    expect((await provider.authorize(params(), "s-unknown", requester)).kind).toBe("sign_in");
  });

  it("resume after a fresh sign-in honours prompt=login instead of looping", async () => {
    const { provider } = await world();
    const outcome = await provider.authorize(params({ prompt: "login" }), "s-1", requester);
    expect(outcome.kind).toBe("sign_in");
    const resumed = await provider.resume((outcome as { pendingId: string }).pendingId, "s-1", requester);
    expect(resumed.kind).toBe("redirect");
  });

  it("a client not first-party asks for consent; consent_required with prompt=none", async () => {
    const { provider } = await world();
    expect((await provider.authorize(params({ client_id: "partner" }), "s-1", requester)).kind).toBe(
      "consent",
    );
    const none = (await provider.authorize(
      params({ client_id: "partner", prompt: "none" }),
      "s-1",
      requester,
    )) as {
      location: string;
    };
    expect(new URL(none.location).searchParams.get("error")).toBe("consent_required");
  });

  it("a resource indicator puts the service's audience beside Gatehouse's", async () => {
    const { provider, sessions, clients } = await world();
    const outcome = (await provider.authorize(
      params({ resource: "https://billing.example" }),
      "s-1",
      requester,
    )) as {
      location: string;
    };
    await provider.exchangeCode(
      (await clients.find("spa"))!,
      form({ code: codeOf(outcome.location), redirect_uri: REDIRECT, code_verifier: VERIFIER }),
      requester,
    );
    expect(sessions.issued[0]!.audience).toEqual(["https://billing.example", "gatehouse"]);
  });

  it("end-session: with a hint for the browser's session it ends it and redirects with state; without, it asks", async () => {
    const { provider, sessions, user } = await world();
    const hint = await signer.sign({ iss: ISSUER, aud: "spa", sub: user.id, sid: "s-1" }, "RS256");
    expect((await provider.endSession(form({}), "s-1", false, requester)).kind).toBe("confirm");
    const outcome = await provider.endSession(
      form({ id_token_hint: hint, post_logout_redirect_uri: "https://app.example/", state: "x y" }),
      "s-1",
      false,
      requester,
    );
    expect(outcome).toEqual({ kind: "signed_out", location: "https://app.example/?state=x+y" });
    expect(sessions.ended).toEqual(["s-1"]);
  });
});

describe("checkAuthorizationRequest", () => {
  const deps = async () => {
    const clients = new MemoryOidcClientDirectory();
    clients.add({ clientId: "spa" });
    clients.add({ clientId: "web", type: "confidential" });
    clients.add({ clientId: "machine", type: "confidential", grantTypes: ["client_credentials"] });
    return { clients, audienceOf: async () => undefined };
  };
  const errorOf = async (overrides: Record<string, string | undefined>) => {
    const result = await checkAuthorizationRequest(params(overrides), await deps());
    if (result.ok) return "ok";
    return "page" in result ? "page" : result.error.error;
  };

  it("answers each malformed request as the RFCs say", async () => {
    expect(await errorOf({})).toBe("ok");
    expect(await errorOf({ client_id: undefined })).toBe("page");
    expect(await errorOf({ redirect_uri: undefined })).toBe("page");
    expect(await errorOf({ response_type: "token" })).toBe("unsupported_response_type");
    expect(await errorOf({ response_type: "code id_token" })).toBe("unsupported_response_type");
    expect(await errorOf({ response_type: undefined })).toBe("invalid_request");
    expect(await errorOf({ response_mode: "fragment" })).toBe("invalid_request");
    expect(await errorOf({ scope: "profile" })).toBe("invalid_scope");
    expect(await errorOf({ scope: "openid admin" })).toBe("invalid_scope");
    expect(await errorOf({ code_challenge: undefined, code_challenge_method: undefined })).toBe(
      "invalid_request",
    );
    expect(
      await errorOf({ client_id: "web", code_challenge: undefined, code_challenge_method: undefined }),
    ).toBe("ok");
    expect(await errorOf({ code_challenge_method: "plain" })).toBe("invalid_request");
    expect(await errorOf({ code_challenge: "short" })).toBe("invalid_request");
    expect(await errorOf({ prompt: "consent" })).toBe("invalid_request");
    expect(await errorOf({ prompt: "none login" })).toBe("invalid_request");
    expect(await errorOf({ max_age: "-1" })).toBe("invalid_request");
    expect(await errorOf({ request: "eyJ..." })).toBe("invalid_request");
    expect(await errorOf({ resource: "https://unknown.example" })).toBe("invalid_target");
    expect(await errorOf({ client_id: "machine", redirect_uri: "https://app.example/callback" })).toBe(
      "unauthorized_client",
    );
  });
});
