import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { credentialsInterceptor } from "./credentials.ts";
import { failoverTransport } from "./failover-transport.ts";
import { AuthService, VerifyTokenResponseSchema } from "./gen/gatehouse/v1/auth_pb.js";

/**
 * The client's own behaviour over Connect's in-memory router transport (no
 * sockets): which failures are retried and where, and how client credentials
 * become a token. The wire itself is tested against real servers in
 * test/integration/client-middleware.test.ts.
 */
describe("failoverTransport", () => {
  const replica = (name: string, answer: () => void, calls: string[]) =>
    createRouterTransport(({ service }) =>
      service(AuthService, {
        verifyToken() {
          calls.push(name);
          answer();
          return create(VerifyTokenResponseSchema, { principalKind: name });
        },
      }),
    );

  it("retries UNAVAILABLE on the next replica, with backoff, and stays there", async () => {
    const calls: string[] = [];
    const down = () => {
      throw new ConnectError("down", Code.Unavailable);
    };
    const client = createClient(
      AuthService,
      failoverTransport([replica("a", down, calls), replica("b", () => {}, calls)], { initialBackoffMs: 1 }),
    );
    expect((await client.verifyToken({ token: "t" })).principalKind).toBe("b");
    expect((await client.verifyToken({ token: "t" })).principalKind).toBe("b");
    expect(calls).toEqual(["a", "b", "b"]);
  });

  it("never retries another code: the caller's error, or one the server may have acted on", async () => {
    for (const code of [Code.PermissionDenied, Code.Internal, Code.DeadlineExceeded, Code.Unauthenticated]) {
      const calls: string[] = [];
      const fail = () => {
        throw new ConnectError("no", code);
      };
      const client = createClient(
        AuthService,
        failoverTransport([replica("a", fail, calls), replica("b", () => {}, calls)], {
          initialBackoffMs: 1,
        }),
      );
      await expect(client.verifyToken({ token: "t" })).rejects.toMatchObject({ code });
      expect(calls).toEqual(["a"]);
    }
  });

  it("gives up after maxAttempts", async () => {
    const calls: string[] = [];
    const down = () => {
      throw new ConnectError("down", Code.Unavailable);
    };
    const client = createClient(
      AuthService,
      failoverTransport([replica("a", down, calls)], { maxAttempts: 3, initialBackoffMs: 1 }),
    );
    await expect(client.verifyToken({ token: "t" })).rejects.toMatchObject({ code: Code.Unavailable });
    expect(calls).toEqual(["a", "a", "a"]);
  });
});

describe("credentialsInterceptor (client credentials)", () => {
  it("fetches one token for concurrent calls, reuses it, and renews it before it expires", async () => {
    let now = 0;
    let issued = 0;
    const seen: string[] = [];
    const interceptor = credentialsInterceptor(
      { type: "client_credentials", clientId: "svc", clientSecret: "secret" },
      async () => ({ accessToken: `token-${++issued}`, expiresInSeconds: 300 }),
      () => now,
    );
    const withCredentials = createClient(
      AuthService,
      createRouterTransport(
        ({ service }) =>
          service(AuthService, {
            verifyToken(_request, context) {
              seen.push(context.requestHeader.get("authorization") ?? "");
              return {};
            },
          }),
        { transport: { interceptors: [interceptor] } },
      ),
    );
    await Promise.all([
      withCredentials.verifyToken({ token: "x" }),
      withCredentials.verifyToken({ token: "y" }),
    ]);
    expect(issued).toBe(1);
    now = 269_000; // 300 s token, renewed 30 s before expiry
    await withCredentials.verifyToken({ token: "z" });
    expect(issued).toBe(1);
    now = 271_000;
    await withCredentials.verifyToken({ token: "z" });
    expect(issued).toBe(2);
    expect(seen).toEqual(["Bearer token-1", "Bearer token-1", "Bearer token-1", "Bearer token-2"]);
  });

  it("renews once and retries when a call answers UNAUTHENTICATED (a revoked token)", async () => {
    const tokens = ["revoked", "fresh"];
    const seen: string[] = [];
    const interceptor = credentialsInterceptor(
      { type: "client_credentials", clientId: "svc", clientSecret: "secret" },
      async () => ({ accessToken: tokens.shift()!, expiresInSeconds: 300 }),
    );
    const client = createClient(
      AuthService,
      createRouterTransport(
        ({ service }) =>
          service(AuthService, {
            verifyToken(_request, context) {
              const header = context.requestHeader.get("authorization") ?? "";
              seen.push(header);
              if (header === "Bearer revoked") throw new ConnectError("revoked", Code.Unauthenticated);
              return {};
            },
          }),
        { transport: { interceptors: [interceptor] } },
      ),
    );
    await client.verifyToken({ token: "x" });
    expect(seen).toEqual(["Bearer revoked", "Bearer fresh"]);
  });
});
