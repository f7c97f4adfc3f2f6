import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatehouseProcess, startGatehouseProcess } from "../../harness/gatehouse-process.ts";
import {
  AuthService,
  ChangeKind,
  WatchChangesRequestSchema,
  type WatchChangesResponse,
  WatchChangesResponseSchema,
} from "../../src/gen/gatehouse/v1/auth_pb.js";
import { ErrorInfoSchema } from "../../src/gen/google/rpc/error_details_pb.js";
import { createService, createUser, setGrants } from "../support/fixtures.ts";
import { errorReason, grpc, grpcAddress, loadService } from "../support/grpc-stubs.ts";
import { grpcFrame } from "../support/h2-grpc.ts";
import { AUTH, IDENTITY_ENV, loginTokens, ok, TEST_ADMIN } from "../support/identity.ts";
import { createTestDatabase, postgresRedisTestEnvironment } from "../support/services.ts";

/**
 * AuthService.WatchChanges between two replica processes on one PostgreSQL and
 * Redis: a change made through replica A is streamed by replica B over gRPC
 * (grpc-js), gRPC-web and Connect; resuming from a cursor replays what was
 * missed; an old cursor gets RESET; a consumer that stops reading is cut off
 * with a cursor it resumes from. Times are printed, never asserted.
 */
describe("WatchChanges (two replicas, PostgreSQL + Redis)", () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: GatehouseProcess;
  let b: GatehouseProcess;
  let admin: string;
  let service: { id: string; slug: string };

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = {
      ...IDENTITY_ENV,
      ...postgresRedisTestEnvironment(database, {
        issuer: "http://gatehouse.test",
        keyEncryptionKey: "5a".repeat(32),
      }),
      // Small, so the slow-consumer test needs few changes to overflow it.
      WATCH_CHANGES_BUFFER: "20",
      WATCH_CHANGES_HEARTBEAT_SECONDS: "1",
    };
    [a, b] = await Promise.all([
      startGatehouseProcess({ env, name: "replica-a" }),
      startGatehouseProcess({ env, name: "replica-b" }),
    ]);
    admin = (await loginTokens(a.url, TEST_ADMIN.username, TEST_ADMIN.password)).accessToken;
    service = await createService(a.url, admin);
  });

  afterAll(async () => {
    expect(await a?.stop()).toBe(0);
    expect(await b?.stop()).toBe(0);
    await database?.drop();
  });

  async function signedInUser() {
    const user = await createUser(a.url, admin);
    return { user, tokens: await loginTokens(a.url, user.username, user.password) };
  }

  /** Reads a stream in the background; `until` waits for a message matching a predicate. */
  function collect(messages: AsyncIterable<WatchChangesResponse>) {
    const seen: WatchChangesResponse[] = [];
    let failure: unknown;
    let waiters: Array<() => void> = [];
    const done = (async () => {
      try {
        for await (const message of messages) {
          seen.push(message);
          for (const waiter of waiters) waiter();
        }
      } catch (error) {
        failure = error;
        for (const waiter of waiters) waiter();
      }
    })();
    return {
      seen,
      done,
      failure: () => failure,
      async until(predicate: (message: WatchChangesResponse) => boolean, timeoutMs = 15_000) {
        const started = Date.now();
        for (;;) {
          const found = seen.find(predicate);
          if (found !== undefined) return found;
          if (failure !== undefined) throw failure;
          if (Date.now() - started > timeoutMs) throw new Error("timed out waiting for a stream message");
          await new Promise<void>((resolve) => {
            waiters.push(resolve);
            setTimeout(resolve, 200);
          });
          waiters = [];
        }
      },
    };
  }

  const isChange = (kind: ChangeKind, key: string) => (message: WatchChangesResponse) =>
    message.event.case === "change" && message.event.value.kind === kind && message.event.value.key === key;

  const connectClients = (): Array<[string, Client<typeof AuthService>]> => [
    [
      "Connect (JSON, HTTP/1.1)",
      createClient(AuthService, createConnectTransport({ baseUrl: b.url, httpVersion: "1.1" })),
    ],
    [
      "gRPC-web (HTTP/1.1)",
      createClient(AuthService, createGrpcWebTransport({ baseUrl: b.url, httpVersion: "1.1" })),
    ],
  ];

  it("streams a logout on replica A from replica B over grpc-js, starting with RESET", async () => {
    const Auth = loadService("gatehouse/v1/auth.proto", "gatehouse.v1.AuthService");
    const client = new Auth(grpcAddress(b.url), grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${admin}`);
    const call = (client as any).watchChanges({ cursor: "" }, metadata) as grpc.ClientReadableStream<any>;
    const messages: any[] = [];
    const arrived = new Map<string, number>();
    call.on("data", (message) => {
      messages.push(message);
      if (message.change !== undefined && message.change !== null)
        arrived.set(message.change.key, performance.now());
    });
    call.on("error", () => {});
    try {
      await waitFor(() => messages.some((m) => m.heartbeat));
      expect(messages[0].reset.reason).toBe("no_cursor");
      expect(messages[0].cursor).toMatch(/^c1\.\d+$/);

      const { tokens } = await signedInUser();
      const calledAt = performance.now();
      await ok(a.url, `${AUTH}/Logout`, { refreshToken: tokens.refreshToken });
      const returnedAt = performance.now();
      await waitFor(() => arrived.has(tokens.sessionId));
      const streamedAt = arrived.get(tokens.sessionId)!;
      // Replica A publishes before it answers, so B's stream can beat A's response.
      console.log(
        `WatchChanges: logout on replica A streamed by replica B ${(streamedAt - calledAt).toFixed(1)} ms after the call started (${(streamedAt - returnedAt).toFixed(1)} ms after it returned)`,
      );
      const change = messages.find((m) => m.change?.key === tokens.sessionId).change;
      expect(change.kind).toBe("CHANGE_KIND_SESSION_REVOKED");
      expect(change.expireTime).toBeDefined();
    } finally {
      call.cancel();
      client.close();
    }
  });

  for (const [name, makeClient] of [0, 1].map(
    (i) => [["Connect (JSON, HTTP/1.1)", "gRPC-web (HTTP/1.1)"][i]!, i] as const,
  )) {
    it(`streams a grant change on replica A from replica B over ${name}`, async () => {
      const client = connectClients()[makeClient]![1];
      const abort = new AbortController();
      const stream = collect(
        client.watchChanges(
          { cursor: "" },
          { signal: abort.signal, headers: { authorization: `Bearer ${admin}` } },
        ),
      );
      try {
        await stream.until((m) => m.event.case === "heartbeat");
        const { user } = await signedInUser();
        await setGrants(a.url, admin, user.id, [{ serviceId: service.id, role: "viewer" }]);
        await stream.until(isChange(ChangeKind.ACCESS_CHANGED, user.id));
      } finally {
        abort.abort();
        await stream.done;
      }
    });
  }

  it("resumes from a cursor: a revocation made while no stream was open is replayed", async () => {
    const client = connectClients()[0]![1];
    const headers = { authorization: `Bearer ${admin}` };
    const first = new AbortController();
    const before = collect(client.watchChanges({ cursor: "" }, { signal: first.signal, headers }));
    const heartbeat = await before.until((m) => m.event.case === "heartbeat");
    first.abort();
    await before.done;

    const { tokens } = await signedInUser();
    await ok(a.url, `${AUTH}/Logout`, { refreshToken: tokens.refreshToken });

    const second = new AbortController();
    const resumed = collect(
      client.watchChanges({ cursor: heartbeat.cursor }, { signal: second.signal, headers }),
    );
    try {
      await resumed.until(isChange(ChangeKind.SESSION_REVOKED, tokens.sessionId));
      expect(resumed.seen.some((m) => m.event.case === "reset")).toBe(false);
    } finally {
      second.abort();
      await resumed.done;
    }
  });

  it("answers RESET, then the revocations in force, to a cursor that is too old or not ours", async () => {
    const { tokens } = await signedInUser();
    await ok(a.url, `${AUTH}/Logout`, { refreshToken: tokens.refreshToken });
    const client = connectClients()[1]![1];
    for (const [cursor, reason] of [
      ["c1.1000", "cursor_too_old"],
      [`c1.${Date.now() + 86_400_000}`, "cursor_unknown"],
    ] as const) {
      const abort = new AbortController();
      const stream = collect(
        client.watchChanges(
          { cursor },
          { signal: abort.signal, headers: { authorization: `Bearer ${admin}` } },
        ),
      );
      try {
        await stream.until(isChange(ChangeKind.SESSION_REVOKED, tokens.sessionId));
        const first = stream.seen[0]!;
        expect(first.event.case).toBe("reset");
        expect(first.event.case === "reset" && first.event.value.reason).toBe(reason);
      } finally {
        abort.abort();
        await stream.done;
      }
    }
  });

  it("refuses callers without changes.watch, service accounts without a grant, and malformed cursors", async () => {
    const client = connectClients()[0]![1];
    const read = async (cursor: string, token: string | undefined) => {
      try {
        for await (const _ of client.watchChanges(
          { cursor },
          { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } },
        ))
          return undefined;
      } catch (error) {
        return ConnectError.from(error);
      }
      throw new Error("the stream ended without a message");
    };
    expect((await read("", undefined))?.code).toBe(Code.Unauthenticated);
    const { tokens } = await signedInUser();
    const denied = await read("", tokens.accessToken);
    expect(denied?.code).toBe(Code.PermissionDenied);
    expect(denied?.findDetails(ErrorInfoSchema)[0]?.reason).toBe("missing_permission");

    const account = await ok(
      a.url,
      "gatehouse.v1.ServiceRegistryService/CreateServiceAccount",
      { name: `watcher-${Date.now()}` },
      admin,
    );
    const clientId = account.serviceAccount.clientId as string;
    const secret = account.clientSecret as string;
    const token = (await ok(a.url, `${AUTH}/ClientCredentialsToken`, { clientId, clientSecret: secret }))
      .tokens.accessToken as string;
    const noGrant = await read("", token);
    expect(noGrant?.code).toBe(Code.PermissionDenied);
    expect(noGrant?.findDetails(ErrorInfoSchema)[0]?.reason).toBe("no_service_grant");
    await ok(
      a.url,
      "gatehouse.v1.ServiceRegistryService/SetServiceAccountGrants",
      { serviceAccountId: account.serviceAccount.id, grants: [{ serviceId: service.id, role: "viewer" }] },
      admin,
    );
    expect(await waitForValue(async () => ((await read("", token)) === undefined ? true : undefined))).toBe(
      true,
    );

    const bad = await read("not-a-cursor", admin);
    expect(bad?.code).toBe(Code.InvalidArgument);
    expect(bad?.message).toContain("cursor");
  });

  it("cuts off a consumer that stops reading, with a cursor it resumes from without losing a change", async () => {
    // Raw HTTP/2 with a zero flow-control window: the server can send nothing, so its writes back up.
    const session = http2.connect(b.url, { settings: { initialWindowSize: 0 } });
    const stream = session.request({
      ":method": "POST",
      ":path": "/gatehouse.v1.AuthService/WatchChanges",
      "content-type": "application/grpc",
      te: "trailers",
      authorization: `Bearer ${admin}`,
    });
    stream.end(
      grpcFrame(toBinary(WatchChangesRequestSchema, create(WatchChangesRequestSchema, { cursor: "" }))),
    );
    const chunks: Buffer[] = [];
    let trailers: http2.IncomingHttpHeaders = {};
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("trailers", (received) => {
      trailers = received;
    });
    const ended = new Promise<void>((resolve) => stream.on("close", () => resolve()));

    // Far more changes than the buffer (20) plus the HTTP/2 stream's 64 KB of buffered writes can hold:
    // grant changes cycling over a few users (creating users hashes passwords, which is slow).
    const users = await Promise.all(Array.from({ length: 6 }, () => createUser(a.url, admin)));
    const startedAt = await databaseTime(database.url);
    const roles = ["viewer", "editor"];
    for (let round = 0; round < 200; round++) {
      await Promise.all(
        users.map((other) =>
          setGrants(a.url, admin, other.id, [{ serviceId: service.id, role: roles[round % 2]! }]),
        ),
      );
    }
    const changed = await changeIdsSince(database.url, startedAt);
    // Open the window: what was written arrives, then the status.
    session.settings({ initialWindowSize: 1 << 20 });
    session.setLocalWindowSize(1 << 24);
    await ended;
    session.close();
    expect(trailers["grpc-status"]).toBe(String(Code.ResourceExhausted));
    expect(decodeURIComponent(String(trailers["grpc-message"]))).toContain("resume from the last cursor");
    const received = decodeFrames(Buffer.concat(chunks));
    console.log(
      `WatchChanges: slow consumer cut off after ${received.length} messages (buffer 20); ${changed.length} changes made`,
    );
    expect(received.length).toBeLessThan(changed.length);
    const cursor = received.at(-1)!.cursor;

    const client = connectClients()[1]![1];
    const abort = new AbortController();
    const resumed = collect(
      client.watchChanges(
        { cursor },
        { signal: abort.signal, headers: { authorization: `Bearer ${admin}` } },
      ),
    );
    try {
      await resumed.until((m) => m.event.case === "heartbeat" && resumed.seen.indexOf(m) > 0);
      // Every change in the log (the source of truth) reached the consumer, on one connection or the other.
      const ids = new Set(
        [...received, ...resumed.seen].flatMap((m) => (m.event.case === "change" ? [m.event.value.id] : [])),
      );
      expect(changed.length).toBeGreaterThanOrEqual(1200);
      expect(changed.filter((id) => !ids.has(id))).toEqual([]);
    } finally {
      abort.abort();
      await resumed.done;
    }
  }, 180_000);

  it("reports the reason of a grpc-js failure through ErrorInfo", async () => {
    const Auth = loadService("gatehouse/v1/auth.proto", "gatehouse.v1.AuthService");
    const client = new Auth(grpcAddress(b.url), grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${admin}`);
    const call = (client as any).watchChanges({ cursor: "bad" }, metadata) as grpc.ClientReadableStream<any>;
    const error = await new Promise<grpc.ServiceError>((resolve) => {
      call.on("error", resolve);
      call.on("data", () => {});
    });
    client.close();
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await errorReason(error)).toBe("invalid_request");
  });
});

async function databaseTime(url: string): Promise<Date> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ now: Date }>("SELECT clock_timestamp() AS now")).rows[0]!.now;
  } finally {
    await client.end();
  }
}

/** The ids of the change log's entries created since `time`, read from PostgreSQL itself. */
async function changeIdsSince(url: string, time: Date): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const rows = await client.query<{ id: string }>("SELECT id FROM change_events WHERE created_at >= $1", [
      time,
    ]);
    return rows.rows.map((row) => String(row.id));
  } finally {
    await client.end();
  }
}

function decodeFrames(body: Buffer): WatchChangesResponse[] {
  const messages: WatchChangesResponse[] = [];
  let offset = 0;
  while (offset + 5 <= body.length) {
    const length = body.readUInt32BE(offset + 1);
    messages.push(fromBinary(WatchChangesResponseSchema, body.subarray(offset + 5, offset + 5 + length)));
    offset += 5 + length;
  }
  return messages;
}

async function waitFor(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function waitForValue<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
