import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { AuthService } from "./gen/gatehouse/v1/auth_pb.js";

/**
 * How a client authenticates its calls to Gatehouse.
 *
 * - `client_credentials`: a service account's client id and secret; an access
 *   token is obtained with AuthService.ClientCredentialsToken, attached to
 *   every call, and renewed before it expires (or once when a call answers
 *   UNAUTHENTICATED, e.g. after its session was revoked).
 * - `bearer`: a token you manage (a fixed string, or a function asked on every call).
 */
export type Credentials =
  | {
      readonly type: "client_credentials";
      readonly clientId: string;
      readonly clientSecret: string;
      /** Space-separated scopes (Keycloak only). */
      readonly scope?: string;
    }
  | { readonly type: "bearer"; readonly token: string | (() => string | Promise<string>) };

/** Obtains a token for the client credentials: AuthService.ClientCredentialsToken, without credentials. */
export type TokenRequester = (credentials: {
  clientId: string;
  clientSecret: string;
  scope: string;
}) => Promise<{ accessToken: string; expiresInSeconds: number }>;

/** Renew this long before expiry, so a call never leaves with a token about to lapse. */
const RENEW_BEFORE_MS = 30_000;

/**
 * Attaches `authorization: Bearer …` to every call. For client credentials
 * one token is shared by every call and renewed by one request at a time.
 */
export function credentialsInterceptor(
  credentials: Credentials,
  requestToken: TokenRequester,
  now: () => number = Date.now,
): Interceptor {
  if (credentials.type === "bearer") {
    const { token } = credentials;
    return (next) => async (request) => {
      request.header.set("authorization", `Bearer ${typeof token === "string" ? token : await token()}`);
      return next(request);
    };
  }
  let cached: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;
  const fetchToken = (): Promise<string> => {
    pending ??= requestToken({
      clientId: credentials.clientId,
      clientSecret: credentials.clientSecret,
      scope: credentials.scope ?? "",
    })
      .then(({ accessToken, expiresInSeconds }) => {
        const lifetimeMs = expiresInSeconds * 1000;
        cached = {
          token: accessToken,
          renewAt: now() + Math.max(lifetimeMs / 2, lifetimeMs - RENEW_BEFORE_MS),
        };
        return accessToken;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
  const currentToken = () =>
    cached !== undefined && now() < cached.renewAt ? Promise.resolve(cached.token) : fetchToken();
  return (next) => async (request) => {
    // The token request itself goes out without one.
    if (request.method === AuthService.method.clientCredentialsToken) return next(request);
    const token = await currentToken();
    request.header.set("authorization", `Bearer ${token}`);
    try {
      return await next(request);
    } catch (error) {
      // A token revoked or expired early: renew once and retry (unary calls only: a stream's input may be spent).
      if (request.stream || !(error instanceof ConnectError) || error.code !== Code.Unauthenticated)
        throw error;
      if (cached?.token === token) cached = undefined;
      request.header.set("authorization", `Bearer ${await currentToken()}`);
      return next(request);
    }
  };
}
