import http from "node:http";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService, VerifyTokenResponseSchema } from "../gen/gatehouse/v1/auth_pb.js";
import { createConnectJsonFastPath, fastJsonRoute } from "./connect-json-fast-path.ts";
import { REQUEST_COMPRESSIONS } from "./request-compression.ts";

/** Which requests the Connect JSON fast path takes, and which it leaves to Connect. */
describe("createConnectJsonFastPath", () => {
  let server: http.Server;
  let url: string;
  const served: string[] = [];
  let leftToConnect = 0;

  beforeAll(async () => {
    const fastPath = createConnectJsonFastPath({
      routes: [
        fastJsonRoute(AuthService.method.verifyToken, (request) => {
          served.push(request.token);
          if (request.token === "bad") throw new ConnectError("no", Code.Unauthenticated);
          return create(VerifyTokenResponseSchema, { principalKind: "user" });
        }),
      ],
      readMaxBytes: 1024,
      jsonOptions: { ignoreUnknownFields: false, alwaysEmitImplicit: true },
      acceptCompression: REQUEST_COMPRESSIONS,
      logger: pino({ level: "silent" }),
      toConnectError: (error) => ConnectError.from(error),
      clientCodes: new Set([Code.Unauthenticated]),
    });
    server = http.createServer((request, response) => {
      if (!fastPath(request, response)) {
        leftToConnect++;
        response.writeHead(299).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/gatehouse.v1.AuthService/VerifyToken`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it("serves a Connect JSON POST itself, with Connect's answers", async () => {
    const ok = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"token":"t"}',
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toBe("application/json");
    expect(await ok.json()).toMatchObject({ principalKind: "user" });
    const denied = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"token":"bad"}',
    });
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({ code: "unauthenticated", message: "no" });
    expect(served).toEqual(["t", "bad"]);
    expect(leftToConnect).toBe(0);
  });

  it.each([
    ["a binary body", { "content-type": "application/proto" }, "x"],
    ["a compressed body", { "content-type": "application/json", "content-encoding": "gzip" }, "x"],
    ["another media type", { "content-type": "text/plain" }, "x"],
  ])("leaves %s to Connect", async (_name, headers, body) => {
    const before = leftToConnect;
    const response = await fetch(url, { method: "POST", headers, body });
    expect(response.status).toBe(299);
    expect(leftToConnect).toBe(before + 1);
  });

  it("leaves a GET and a chunked body to Connect", async () => {
    const before = leftToConnect;
    expect((await fetch(`${url}?message=%7B%7D&encoding=json`)).status).toBe(299);
    const chunked = await new Promise<number>((resolve, reject) => {
      const request = http.request(url, { method: "POST", headers: { "content-type": "application/json" } });
      request.on("response", (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on("error", reject);
      request.write("{}");
      request.end();
    });
    expect(chunked).toBe(299);
    expect(leftToConnect).toBe(before + 2);
  });
});
