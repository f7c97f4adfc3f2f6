import http2 from "node:http2";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGatehouse, type TestGatehouse } from "../support/gatehouse.ts";

/**
 * Slow clients cannot hold connections open: each stage of a connection's life has a timeout.
 * The timeouts are set low through the environment; the bound on how long the server may take
 * to close is the test's own timeout, never an asserted duration.
 */

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Resolves with everything the server sent once it closes the connection. */
function closedByServer(socket: net.Socket): Promise<string> {
  const received: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => received.push(chunk));
  socket.on("error", () => {});
  return new Promise((resolve) => socket.once("close", () => resolve(Buffer.concat(received).toString())));
}

describe("connection hygiene: short timeouts", () => {
  let server: TestGatehouse;
  beforeAll(async () => {
    server = await startTestGatehouse({
      backend: "embedded",
      env: {
        CONNECTION_SNIFF_TIMEOUT_MS: "300",
        HTTP1_HEADERS_TIMEOUT_MS: "300",
        HTTP1_REQUEST_TIMEOUT_MS: "600",
        HTTP1_KEEP_ALIVE_TIMEOUT_MS: "300",
        HTTP2_IDLE_TIMEOUT_MS: "300",
        HTTP2_MAX_CONCURRENT_STREAMS: "7",
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("closes a connection that sends no bytes at all", { timeout: 15_000 }, async () => {
    const socket = await connect(server.port);
    expect(await closedByServer(socket)).toBe("");
  });

  it("closes a connection that stops inside the protocol preface", { timeout: 15_000 }, async () => {
    const socket = await connect(server.port);
    const closed = closedByServer(socket);
    socket.write("PR");
    expect(await closed).toBe("");
  });

  it("closes an HTTP/1.1 connection whose headers never end (slow-loris)", { timeout: 15_000 }, async () => {
    const socket = await connect(server.port);
    const closed = closedByServer(socket);
    socket.write("GET /healthz HTTP/1.1\r\nHost: gatehouse\r\nX-Slow: ");
    // Node answers 408 before closing; what matters is that the socket goes.
    expect(await closed).toMatch(/^(HTTP\/1\.1 408|$)/);
  });

  it("closes an idle HTTP/1.1 keep-alive connection after its response", { timeout: 15_000 }, async () => {
    const socket = await connect(server.port);
    const closed = closedByServer(socket);
    socket.write("GET /healthz HTTP/1.1\r\nHost: gatehouse\r\nConnection: keep-alive\r\n\r\n");
    expect(await closed).toMatch(/^HTTP\/1\.1 200 /);
  });

  it("closes an HTTP/2 connection that sends the preface and nothing more", { timeout: 15_000 }, async () => {
    const socket = await connect(server.port);
    const closed = closedByServer(socket);
    socket.write(H2_PREFACE);
    await closed;
  });

  it("advertises its stream limit and sends an idle HTTP/2 session GOAWAY", { timeout: 15_000 }, async () => {
    const session = http2.connect(server.url);
    session.on("error", () => {});
    const closed = new Promise<void>((resolve) => session.once("close", resolve));
    const goaway = new Promise<void>((resolve) => session.once("goaway", () => resolve()));
    const settings = await new Promise<http2.Settings>((resolve) => session.once("remoteSettings", resolve));
    expect(settings.maxConcurrentStreams).toBe(7);
    const stream = session.request({ ":path": "/healthz" });
    stream.resume();
    const status = await new Promise<number | undefined>((resolve) =>
      stream.once("response", (headers) => resolve(headers[":status"])),
    );
    expect(status).toBe(200);
    await new Promise((resolve) => stream.once("close", resolve));
    await goaway;
    await closed;
  });
});

describe("connection hygiene: the sniff timeout ends with the sniffing", () => {
  let server: TestGatehouse;
  beforeAll(async () => {
    // Only the sniff timeout is short: connections past it must be left to the HTTP servers.
    server = await startTestGatehouse({ backend: "embedded", env: { CONNECTION_SNIFF_TIMEOUT_MS: "200" } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("keeps an HTTP/1.1 keep-alive connection open past it", async () => {
    const socket = await connect(server.port);
    const received: string[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk.toString()));
    const request = "GET /healthz HTTP/1.1\r\nHost: gatehouse\r\n\r\n";
    socket.write(request);
    // Well past the sniff timeout (no duration is asserted: waiting longer only makes the check stricter).
    await sleep(1000);
    expect(socket.destroyed).toBe(false);
    socket.write(request);
    while (received.join("").match(/HTTP\/1\.1 200 /g)?.length !== 2) await sleep(20);
    expect(socket.destroyed).toBe(false);
    socket.destroy();
  });

  it("keeps an HTTP/2 session open past it", async () => {
    const session = http2.connect(server.url);
    try {
      await new Promise((resolve) => session.once("remoteSettings", resolve));
      await sleep(1000);
      expect(session.closed || session.destroyed).toBe(false);
      const stream = session.request({ ":path": "/healthz" });
      stream.resume();
      const status = await new Promise<number | undefined>((resolve) =>
        stream.once("response", (headers) => resolve(headers[":status"])),
      );
      expect(status).toBe(200);
    } finally {
      session.destroy();
    }
  });
});
