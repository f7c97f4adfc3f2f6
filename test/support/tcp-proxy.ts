import net from "node:net";

/**
 * A TCP relay on loopback in front of a real server, so a test can cut the
 * connection (as an outage or a network partition would) without stopping a
 * server other suites share.
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly target: { host: string; port: number };
  port = 0;
  /**
   * Inspects what a client sends before it is relayed: true cuts that client's connection
   * there (the bytes are not relayed), as a network failure in the middle of a command would.
   */
  cutWhen: ((chunk: Buffer) => boolean) | undefined;
  /**
   * The same, but true leaves the connection open and relays nothing more the client sends on it:
   * a server that stopped answering.
   */
  holdWhen: ((chunk: Buffer) => boolean) | undefined;

  constructor(target: { host: string; port: number }) {
    this.target = target;
  }

  /** Listens (again, on the same port after a stop); a no-op while listening. */
  async start(): Promise<void> {
    if (this.server !== undefined) return;
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      upstream.pipe(client);
      let held = false;
      client.on("data", (chunk: Buffer) => {
        if (held || this.holdWhen?.(chunk) === true) {
          held = true;
          return;
        }
        if (this.cutWhen?.(chunk) === true) {
          client.destroy();
          upstream.destroy();
          return;
        }
        if (!upstream.write(chunk)) {
          client.pause();
          upstream.once("drain", () => client.resume());
        }
      });
      client.on("end", () => upstream.end());
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
  }

  /** Drops every open connection and keeps listening (clients reconnect through it). */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  /** Refuses new connections and drops every open one. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.dropConnections();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
