import { fromBinary } from "@bufbuild/protobuf";
import { keycloakEnvironment } from "../harness/keycloak.ts";
import {
  SyncFromKeycloakRequestSchema,
  SyncFromKeycloakResponseSchema,
} from "../src/gen/gatehouse/v1/user_pb.js";
import { type Benchmark, fmt, withCleanup } from "./support/benchmark.ts";
import { ADMIN } from "./support/gatehouse-server.ts";
import { grpcFrame } from "./support/grpc-frames.ts";
import { H2GrpcClient } from "./support/h2-client.ts";
import { BenchKeycloak } from "./support/keycloak-instance.ts";
import { deploy } from "./support/launch.ts";
import { adminLogin } from "./support/seed.ts";

const SYNC_PATH = "/gatehouse.v1.UserService/SyncFromKeycloak";
const PREFIX = "bench-sync-";
const USERS = 5000;
const CREATE_CONCURRENCY = 8;

const username = (index: number) => `${PREFIX}${String(index).padStart(5, "0")}`;

/** 5,000 realm users with the profile attributes Gatehouse maps, created once and kept (the instance keeps its data). */
async function ensureSyncUsers(
  keycloak: BenchKeycloak,
  count: number,
  log: (message: string) => void,
): Promise<number> {
  const existing = await keycloak.usernamesWithPrefix(PREFIX);
  const missing = Array.from({ length: count }, (_, i) => username(i + 1)).filter(
    (name) => !existing.has(name),
  );
  if (missing.length === 0) return 0;
  log(`keycloak-sync: creating ${missing.length} Keycloak users (once; kept for later runs)`);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < missing.length) {
      const name = missing[next++]!;
      await keycloak.ensureUser({
        username: name,
        email: `${name}@example.bench`,
        firstName: "Sync",
        lastName: name.slice(PREFIX.length),
        attributes: { department: ["Benchmarks"], title: ["Engineer"], phone: ["+10000000000"] },
      });
      if (++done % 500 === 0) log(`keycloak-sync: ${done}/${missing.length} users created`);
    }
  };
  await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, worker));
  return missing.length;
}

/** Removes the bootstrap administrator from the realm, so that a fresh Gatehouse database can create (and link) it again. */
async function removeRealmAdmin(keycloak: BenchKeycloak): Promise<void> {
  const response = await keycloak.admin(
    "GET",
    `/users?username=${encodeURIComponent(ADMIN.username)}&exact=true`,
  );
  for (const user of (await response.json()) as Array<{ id: string }>)
    await keycloak.admin("DELETE", `/users/${user.id}`);
}

/**
 * 9. UserService.SyncFromKeycloak of 5,000 Keycloak users into a fresh
 * Gatehouse database (IDENTITY_PROVIDER=keycloak), then again with nothing
 * changed; users per second for each.
 */
export const keycloakSync: Benchmark = {
  id: "keycloak-sync",
  title: "SyncFromKeycloak of 5,000 Keycloak users",
  async run(context) {
    return withCleanup(async (defer) => {
      const keycloak = new BenchKeycloak();
      await keycloak.start(context.log);
      defer(() => keycloak.stop(context.log));
      const created = await ensureSyncUsers(keycloak, USERS, context.log);
      await removeRealmAdmin(keycloak);

      const deployment = await deploy(context, "keycloak-sync", keycloakEnvironment(keycloak.url));
      defer(() => deployment.stop());
      const server = deployment.servers[0]!;
      const admin = (await adminLogin(server.url)).accessToken;
      const client = new H2GrpcClient(server.url);
      defer(() => client.close());

      const realmUsers = (await keycloak.usernamesWithPrefix(PREFIX)).size;
      const sync = async () => {
        const started = performance.now();
        const reply = await client.unary(SYNC_PATH, grpcFrame(SyncFromKeycloakRequestSchema, {}), {
          authorization: `Bearer ${admin}`,
        });
        const seconds = (performance.now() - started) / 1000;
        if (reply.status !== 0)
          throw new Error(`SyncFromKeycloak: grpc-status ${reply.status} ${reply.message}`);
        const result = fromBinary(SyncFromKeycloakResponseSchema, reply.body.subarray(5));
        const total = result.created + result.updated + result.unchanged + result.disabled + result.failed;
        return { seconds, result, total };
      };
      context.log("keycloak-sync: first sync (every user new)");
      const first = await sync();
      if (first.result.created < USERS) {
        throw new Error(`the first sync created ${first.result.created} users, expected at least ${USERS}`);
      }
      context.log("keycloak-sync: second sync (nothing changed)");
      const second = await sync();
      const row = (label: string, run: typeof first) => [
        label,
        fmt.ms(run.seconds * 1000),
        String(run.result.created),
        String(run.result.updated),
        String(run.result.unchanged),
        String(run.result.disabled),
        String(run.result.failed),
        fmt.rate(run.total / run.seconds),
      ];
      return {
        id: "keycloak-sync",
        title: keycloakSync.title,
        generator: "one SyncFromKeycloak call over gRPC from the benchmark process, timed end to end",
        setup: [
          `the benchmarks' own Keycloak (${keycloak.url}) with ${realmUsers} users named ${PREFIX}* (${created} created in this run; all with email, names and three profile attributes)`,
          `Gatehouse with IDENTITY_PROVIDER=keycloak on a fresh PostgreSQL database, KEYCLOAK_SYNC_PAGE_SIZE default (100)`,
        ],
        measurements: [],
        ratios: [
          {
            label: "first sync, users/s",
            value: first.total / first.seconds,
            definition: "users processed ÷ seconds, into an empty database",
          },
          {
            label: "second sync, users/s",
            value: second.total / second.seconds,
            definition: "users processed ÷ seconds, nothing changed",
          },
        ],
        targets: [],
        tables: [
          {
            title: "SyncFromKeycloak",
            columns: ["run", "ms", "created", "updated", "unchanged", "disabled", "failed", "users/s"],
            rows: [row("first (empty database)", first), row("second (nothing changed)", second)],
          },
        ],
        notes: ["The issue sets no target for the sync; users per second are reported."],
      };
    });
  },
};
