import { decodeJwt } from "jose";
import type { Command, CommandContext } from "../command.ts";
import { credentialsFromTokens } from "../connection.ts";
import { UsageError } from "../exit-codes.ts";
import { fields } from "../output.ts";

async function secretFrom(context: CommandContext, flag: string, envName: string): Promise<string> {
  if (context.flags[flag] === true) return (await context.io.readStdin()).replace(/\r?\n$/, "");
  const fromEnv = context.env[envName];
  if (fromEnv) return fromEnv;
  throw new UsageError(`give the secret on stdin with --${flag}, or in ${envName}`);
}

const login: Command = {
  path: ["login"],
  summary: "Sign in with a password (and TOTP) or a service account's client credentials",
  details:
    "Secrets are never flags (they would land in shell history and `ps`): the password comes from\n" +
    "stdin (--password-stdin) or GATEHOUSE_PASSWORD, the client secret from stdin\n" +
    "(--client-secret-stdin) or GATEHOUSE_CLIENT_SECRET. The tokens are cached for this server in\n" +
    "the config directory (mode 0600); a user's access token is refreshed automatically.",
  flags: {
    username: { type: "string", value: "LOGIN", help: "username or email" },
    "password-stdin": { type: "boolean", help: "read the password from stdin" },
    totp: { type: "string", value: "CODE", help: "the current TOTP code, when MFA is on" },
    "recovery-code": { type: "string", value: "CODE", help: "a recovery code instead of TOTP" },
    "client-id": { type: "string", value: "ID", help: "sign in as this service account" },
    "client-secret-stdin": { type: "boolean", help: "read the client secret from stdin" },
  },
  async run(context) {
    const { auth } = context.anonymous();
    const clientId = context.flags["client-id"] as string | undefined;
    const username = context.flags.username as string | undefined;
    if ((clientId === undefined) === (username === undefined)) {
      throw new UsageError("give --username or --client-id");
    }
    if (clientId !== undefined) {
      const secret = await secretFrom(context, "client-secret-stdin", "GATEHOUSE_CLIENT_SECRET");
      const { tokens } = await auth.clientCredentialsToken({ clientId, clientSecret: secret });
      await context.cache.put(context.server, {
        ...credentialsFromTokens(tokens!),
        refreshToken: "",
        subject: clientId,
        kind: "service_account",
      });
      context.print({ subject: clientId, kind: "service_account" }, () => `Signed in as ${clientId}\n`);
      return;
    }
    const password = await secretFrom(context, "password-stdin", "GATEHOUSE_PASSWORD");
    const totp = context.flags.totp as string | undefined;
    const recoveryCode = context.flags["recovery-code"] as string | undefined;
    const answer = await auth.login({ login: username!, password, totpCode: totp ?? "" });
    let tokens = answer.result.case === "tokens" ? answer.result.value : undefined;
    if (answer.result.case === "mfaChallenge") {
      if (recoveryCode === undefined && totp === undefined) {
        throw new UsageError("this account has MFA on: give --totp CODE or --recovery-code CODE");
      }
      const code =
        recoveryCode !== undefined
          ? { case: "recoveryCode" as const, value: recoveryCode }
          : { case: "totpCode" as const, value: totp! };
      tokens = (await auth.verifyMfa({ mfaToken: answer.result.value.mfaToken, code })).tokens;
    }
    const subject = String(decodeJwt(tokens!.accessToken).sub ?? "");
    await context.cache.put(context.server, { ...credentialsFromTokens(tokens!), subject, kind: "user" });
    context.print({ subject, kind: "user" }, () => `Signed in as ${username}\n`);
  },
};

const logout: Command = {
  path: ["logout"],
  summary: "End this CLI's session and forget its tokens",
  async run(context) {
    const cached = await context.cache.get(context.server);
    if (cached?.refreshToken) {
      await context.anonymous().auth.logout({ refreshToken: cached.refreshToken });
    }
    await context.cache.remove(context.server);
    context.print({ signedOut: cached !== undefined }, () =>
      cached === undefined ? "Not signed in\n" : "Signed out\n",
    );
  },
};

const whoami: Command = {
  path: ["whoami"],
  summary: "Who the cached credentials belong to, and what they may do",
  async run(context) {
    const cached = await context.cache.get(context.server);
    if (cached?.kind === "service_account") {
      context.print({ subject: cached.subject, kind: cached.kind }, () =>
        fields([
          ["service account", cached.subject],
          ["server", context.server],
        ]),
      );
      return;
    }
    const me = await context.clients().auth.getMe({});
    context.print(
      {
        user: { id: me.user?.id, username: me.user?.username, email: me.user?.email },
        permissions: me.permissions,
      },
      () =>
        fields([
          ["user", `${me.user?.username} <${me.user?.email}>`],
          ["id", me.user?.id ?? ""],
          ["server", context.server],
          ["permissions", me.permissions.join(" ") || "-"],
        ]),
    );
  },
};

export const sessionCommands: readonly Command[] = [login, logout, whoami];
