import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const PACKAGE = join(ROOT, "packages/client");
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");

/**
 * @gatehouse/client as another project gets it: `npm pack` (which builds it,
 * prepack), `npm install <tarball>` into a scratch project (its dependencies
 * from the npm registry), then a consumer is type-checked with tsc and the
 * package imported at run time. A consumer with a type error must fail, so
 * the type check is known to bite.
 */
describe("the client package, packed and installed into another project", () => {
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), "gatehouse-client-consumer-"));
    await run("npm", ["pack", "--pack-destination", scratch], { cwd: PACKAGE, timeout: 120_000 });
    const tarball = (await readdir(scratch)).find((name) => name.endsWith(".tgz"));
    if (tarball === undefined) throw new Error("npm pack made no tarball");
    await writeFile(
      join(scratch, "package.json"),
      JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "module" }),
    );
    await run(
      "npm",
      ["install", "--no-audit", "--no-fund", "--ignore-scripts", `./${tarball}`, "@types/node@^24"],
      { cwd: scratch, timeout: 240_000 },
    );
    await writeFile(
      join(scratch, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          types: ["node"],
        },
        include: ["*.ts"],
      }),
    );
  }, 300_000);

  afterAll(async () => {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  });

  const typeCheck = () => run(process.execPath, [TSC, "-p", scratch], { cwd: scratch, timeout: 120_000 });

  it("type-checks a consumer of the clients, the middleware and the API types", async () => {
    await writeFile(
      join(scratch, "consumer.ts"),
      `import { createServer } from "node:http";
import {
  type AuthDecision,
  createGatehouseAuth,
  createGatehouseClient,
  gatehouseExpress,
  gatehouseInterceptor,
  type Principal,
} from "@gatehouse/client";
import { ChangeKind, type VerifyTokenResponse } from "@gatehouse/client/v1";

const client = createGatehouseClient({
  baseUrl: ["http://gatehouse-a:8080", "http://gatehouse-b:8080"],
  transport: "grpc",
  credentials: { type: "client_credentials", clientId: "billing", clientSecret: "secret" },
});
export async function verify(token: string): Promise<VerifyTokenResponse> {
  return client.auth.verifyToken({ token, serviceSlug: "billing", requiredRole: "viewer" });
}
const auth = createGatehouseAuth({
  client,
  issuer: "http://gatehouse.internal",
  jwksUrl: "http://gatehouse-a:8080/.well-known/jwks.json",
  service: "billing",
});
const middleware = gatehouseExpress(auth, { requiredRole: "editor" });
createServer((request, response) => middleware(request, response, () => response.end("ok")));
export const interceptor = gatehouseInterceptor(auth);
export function subjectOf(decision: AuthDecision): string {
  const principal: Principal | undefined = decision.outcome === "allowed" ? decision.principal : undefined;
  return principal?.subjectId ?? decision.status.toString();
}
export const kind: ChangeKind = ChangeKind.SESSION_REVOKED;
`,
    );
    await typeCheck();
  });

  it("fails the type check of a consumer that misuses the API", async () => {
    await writeFile(
      join(scratch, "consumer.ts"),
      `import { createGatehouseClient } from "@gatehouse/client";
createGatehouseClient({ baseUrl: "http://gatehouse:8080", transport: "http3" });
`,
    );
    const failure = await typeCheck().then(
      () => undefined,
      (error: { stdout: string }) => error.stdout,
    );
    expect(failure).toContain("http3");
  });

  it("imports at run time from the installed package", async () => {
    const { stdout } = await run(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const m = await import("@gatehouse/client"); const v1 = await import("@gatehouse/client/v1");
         console.log(JSON.stringify([typeof m.createGatehouseClient, typeof m.gatehouseFastify, v1.AuthService.typeName]));`,
      ],
      { cwd: scratch },
    );
    expect(JSON.parse(stdout)).toEqual(["function", "function", "gatehouse.v1.AuthService"]);
  });

  it("installs the gatehouse CLI as the package's bin", async () => {
    const bin = join(scratch, "node_modules", ".bin", "gatehouse");
    const { stdout } = await run(bin, ["--help"], { cwd: scratch });
    expect(stdout).toContain("Usage: gatehouse");
    expect(stdout).toContain("service-accounts rotate-secret");
    const completion = await run(bin, ["completion", "bash"], { cwd: scratch });
    expect(completion.stdout).toContain("complete -F _gatehouse gatehouse");
  });
});
