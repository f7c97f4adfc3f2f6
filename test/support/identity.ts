import { randomBytes } from "node:crypto";
import type net from "node:net";
import { fromBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { SMTPServer } from "smtp-server";
import { ErrorInfoSchema } from "../../src/gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../src/gen/google/rpc/status_pb.js";
import { Totp } from "../../src/identity/local/totp.ts";
import { postJson } from "./connect-json.ts";
import { grpc, grpcAddress, loadService, unary } from "./grpc-stubs.ts";

/** A fixed key-encryption key for tests (the default would warn on every start). */
export const TEST_KEY_ENCRYPTION_KEY = "7f".repeat(32);

export const TEST_ADMIN = {
  username: "identity-admin",
  email: "identity-admin@gatehouse.test",
  password: "Admin-identity-pass-1!",
};

/** The environment identity tests start with: an administrator, generous rate limits, a real key. */
export const IDENTITY_ENV: Record<string, string> = {
  BOOTSTRAP_ADMIN_USERNAME: TEST_ADMIN.username,
  BOOTSTRAP_ADMIN_EMAIL: TEST_ADMIN.email,
  BOOTSTRAP_ADMIN_PASSWORD: TEST_ADMIN.password,
  KEY_ENCRYPTION_KEY: TEST_KEY_ENCRYPTION_KEY,
  RATE_LIMIT_PER_IP_PER_MINUTE: "100000",
  RATE_LIMIT_SENSITIVE_PER_MINUTE: "100000",
};

export const uniqueName = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;

/** A Connect JSON call that must succeed; returns the body. */
export async function ok<T = any>(url: string, procedure: string, body: unknown, token?: string): Promise<T> {
  const response = await postJson(
    url,
    procedure,
    body,
    token === undefined ? {} : { authorization: `Bearer ${token}` },
  );
  if (response.status !== 200) {
    throw new Error(`${procedure}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
  }
  return response.body as T;
}

export interface ConnectFailure {
  status: number;
  code: string;
  message: string;
  reason: string;
  details: Array<{ type: string; debug: any }>;
}

/** A Connect JSON call that must fail; returns the Connect error with its ErrorInfo reason. */
export async function fails(
  url: string,
  procedure: string,
  body: unknown,
  token?: string,
): Promise<ConnectFailure> {
  const response = await postJson(
    url,
    procedure,
    body,
    token === undefined ? {} : { authorization: `Bearer ${token}` },
  );
  if (response.status === 200) throw new Error(`${procedure} succeeded: ${JSON.stringify(response.body)}`);
  const details = (response.body.details ?? []) as ConnectFailure["details"];
  return {
    status: response.status,
    code: String(response.body.code),
    message: String(response.body.message ?? ""),
    reason: details.find((detail) => detail.type === "google.rpc.ErrorInfo")?.debug?.reason ?? "",
    details,
  };
}

export const AUTH = "gatehouse.v1.AuthService";
export const USERS = "gatehouse.v1.UserService";
export const ROLES = "gatehouse.v1.RoleService";

export interface TokenSet {
  accessToken: string;
  refreshToken: string;
  sessionId: string;
  expiresIn: number;
  tokenType: string;
}

export async function loginTokens(url: string, login: string, password: string): Promise<TokenSet> {
  const response = await ok(url, `${AUTH}/Login`, { login, password });
  if (response.tokens === undefined)
    throw new Error(`login of ${login} answered ${JSON.stringify(response)}`);
  return response.tokens;
}

/** A signed-up user with a session. */
export async function signUpAndLogin(
  url: string,
  overrides: Partial<{ username: string; email: string; password: string }> = {},
): Promise<{ id: string; username: string; email: string; password: string; tokens: TokenSet }> {
  const username = overrides.username ?? uniqueName("user");
  const email = overrides.email ?? `${username}@example.test`;
  const password = overrides.password ?? "Correct-horse-battery-9";
  const signUp = await ok(url, `${AUTH}/SignUp`, {
    username,
    email,
    password,
    firstName: "Test",
    lastName: "User",
  });
  const tokens = await loginTokens(url, username, password);
  return { id: signUp.user.id, username, email, password, tokens };
}

/** grpc-js dynamic stubs of our three identity services, loaded from the .proto files. */
export function identityClients(url: string) {
  const credentials = grpc.credentials.createInsecure();
  const address = grpcAddress(url);
  const auth = new (loadService("gatehouse/v1/auth.proto", AUTH))(address, credentials);
  const users = new (loadService("gatehouse/v1/user.proto", USERS))(address, credentials);
  const roles = new (loadService("gatehouse/v1/role.proto", ROLES))(address, credentials);
  return {
    auth,
    users,
    roles,
    bearer: (token: string) => ({ authorization: `Bearer ${token}` }),
    close() {
      auth.close();
      users.close();
      roles.close();
    },
  };
}

/** The ErrorInfo reason of a grpc-js error (from google.rpc.Status in grpc-status-details-bin). */
export function grpcReason(error: unknown): string {
  const bin = (error as grpc.ServiceError).metadata?.get("grpc-status-details-bin")[0];
  if (!(bin instanceof Buffer)) return "";
  for (const detail of fromBinary(StatusSchema, bin).details) {
    const info = anyUnpack(detail, ErrorInfoSchema);
    if (info !== undefined) return info.reason;
  }
  return "";
}

/** A grpc-js unary call that must fail: its status code and ErrorInfo reason. */
export async function grpcFails(
  client: grpc.Client,
  method: string,
  request: Record<string, unknown>,
  metadata: Record<string, string> = {},
): Promise<{ code: grpc.status; reason: string }> {
  try {
    await unary(client, method, request, metadata);
  } catch (error) {
    return { code: (error as grpc.ServiceError).code, reason: grpcReason(error) };
  }
  throw new Error(`${method} succeeded`);
}

export { grpc, unary };

/**
 * A TOTP code the server will accept, for a time step not used before by
 * this test (the server refuses a step's code twice). Steps of the next,
 * current and previous period are accepted; the next one first lasts longest.
 */
export function freshTotpCode(secret: string, used: Set<number>): string {
  const current = Math.floor(Date.now() / 30_000);
  for (const step of [current + 1, current, current - 1]) {
    if (used.has(step)) continue;
    used.add(step);
    return Totp.generate(secret, step * 30_000);
  }
  throw new Error("every acceptable TOTP step is used: wait for the next period");
}

export interface CapturedMail {
  to: string[];
  raw: string;
  /** The body with quoted-printable decoded. */
  text: string;
}

/** A real SMTP server on 127.0.0.1 that keeps what it receives. */
export async function startMailCatcher(): Promise<{
  url: string;
  mails: CapturedMail[];
  waitFor(predicate: (mail: CapturedMail) => boolean, timeoutMs?: number): Promise<CapturedMail>;
  close(): Promise<void>;
}> {
  const mails: CapturedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const quotedPrintable = /content-transfer-encoding:\s*quoted-printable/i.test(raw);
        const text = quotedPrintable
          ? raw
              .replace(/=\r?\n/g, "")
              .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
          : raw;
        mails.push({ to: session.envelope.rcptTo.map((rcpt) => rcpt.address), raw, text });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as net.AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    async waitFor(predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const mail = mails.find(predicate);
        if (mail !== undefined) return mail;
        if (Date.now() > deadline) throw new Error(`no such mail among ${mails.length}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The single-use token in a Gatehouse mail ("…code: <token>"). */
export function tokenInMail(mail: CapturedMail): string {
  const match = /code: ([A-Za-z0-9_-]{43})/.exec(mail.text);
  if (match === null) throw new Error(`no token in mail:\n${mail.text}`);
  return match[1]!;
}
