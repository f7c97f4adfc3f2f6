import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainError } from "../../../src/domain/errors.ts";
import { createLogger } from "../../../src/observability/logger.ts";
import { Sql } from "../../../src/persistence/sql.ts";
import { toConnectError } from "../../../src/rpc/interceptors/error-mapping.ts";
import { BACKENDS, startTestGatehouse, type TestGatehouse } from "../../support/gatehouse.ts";

const SECRET = "Personal-Data-7f3a@example.test";

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger("info", stream) };
}

describe.each(BACKENDS)("a failed SQL statement's log line (%s)", (backend) => {
  let server: TestGatehouse;
  let sql: Sql;
  beforeAll(async () => {
    server = await startTestGatehouse({ backend });
    sql = new Sql(server.gatehouse.dataSource, { embedded: backend === "embedded" });
    await sql.query("CREATE TABLE log_probe (value text UNIQUE)");
    await sql.query("INSERT INTO log_probe (value) VALUES ($1)", [SECRET]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const failures: Array<[string, string, unknown[]]> = [
    ["a NUL byte", "SELECT $1::text", [`${SECRET}\u0000`]],
    ["a value the type refuses", "SELECT $1::uuid", [SECRET]],
    ["a unique violation", "INSERT INTO log_probe (value) VALUES ($1)", [SECRET]],
    ["a value in an array parameter", "SELECT $1::int[]", [[SECRET]]],
  ];

  it.each(failures)(
    "keeps the parameters out for %s, on the error-mapping path and as a cause",
    async (_, statement, params) => {
      const error = await sql.query(statement, params).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeDefined();
      const { lines, logger } = capture();
      // Unexpected errors are logged whole by the error-mapping interceptor…
      toConnectError(error, logger);
      // …and domain errors that wrap one log it as their cause.
      toConnectError(
        new DomainError("unavailable", "database_unavailable", "try again", { cause: error }),
        logger,
      );
      logger.error({ err: new Error("wrapped", { cause: error }) }, "nested");
      expect(lines).toHaveLength(3);
      for (const line of lines) {
        expect(line).not.toContain("Personal-Data");
        expect(line).not.toContain("7f3a");
        // Still diagnosable: the SQLSTATE is kept.
        expect(line).toMatch(/"code":"(22021|22P02|23505)"/);
      }
    },
  );
});
