import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestPki {
  readonly dir: string;
  /** PEM files. */
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** Issues another server certificate for 127.0.0.1/localhost from the same CA; returns its paths and serial (hex, upper case). */
  issueServer(name: string, serial: string): Promise<{ cert: string; key: string; serial: string }>;
  /** Issues another client certificate from the same CA whose URI SAN is `uri` (a SPIFFE id). */
  issueClient(
    name: string,
    serial: string,
    uri: string,
  ): Promise<{ cert: string; key: string; serial: string }>;
  remove(): Promise<void>;
}

const openssl = (cwd: string, ...args: string[]) => execFileSync("openssl", args, { cwd, stdio: "pipe" });

/** A throwaway CA, a server certificate for 127.0.0.1 and localhost, and a client certificate with a SPIFFE id, by Debian's openssl. */
export async function createTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), "gatehouse-pki-"));
  const ecKey = (name: string) =>
    openssl(dir, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", name);
  ecKey("ca.key");
  openssl(
    dir,
    "req",
    "-x509",
    "-new",
    "-key",
    "ca.key",
    "-sha256",
    "-days",
    "2",
    "-subj",
    "/CN=Gatehouse test CA",
    "-out",
    "ca.pem",
  );

  const issue = async (name: string, serial: string, extensions: string) => {
    ecKey(`${name}.key`);
    openssl(dir, "req", "-new", "-key", `${name}.key`, "-subj", `/CN=${name}`, "-out", `${name}.csr`);
    await writeFile(join(dir, `${name}.ext`), extensions);
    openssl(
      dir,
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-set_serial",
      `0x${serial}`,
      "-days",
      "2",
      "-sha256",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.pem`,
    );
    return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`), serial: serial.toUpperCase() };
  };
  const clientExtensions = (uri: string) => `subjectAltName=URI:${uri}\nextendedKeyUsage=clientAuth\n`;
  const serverExtensions = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n";
  const server = await issue("server", "1001", serverExtensions);
  const client = await issue(
    "client",
    "2001",
    clientExtensions("spiffe://cluster.local/ns/shop/sa/checkout"),
  );
  return {
    dir,
    caCert: join(dir, "ca.pem"),
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    issueServer: (name, serial) => issue(name, serial, serverExtensions),
    issueClient: (name, serial, uri) => issue(name, serial, clientExtensions(uri)),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
