import type { Interceptor } from "@connectrpc/connect";
import { DomainError } from "../../domain/errors.ts";
import type { Authenticator, Principal } from "../../domain/principal.ts";
import { kCaller } from "../context.ts";

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * Reads the bearer token and makes the principal available to handlers. The
 * token is verified only when a handler asks for the principal, so public
 * calls (Login, Refresh…) never fail because of a stale header.
 */
export function authenticationInterceptor(authenticator: Authenticator): Interceptor {
  return (next) => async (request) => {
    const header = request.header.get("authorization");
    const bearerToken = header === null ? undefined : BEARER.exec(header.trim())?.[1];
    let resolved: Promise<Principal> | undefined;
    request.contextValues.set(kCaller, {
      bearerToken,
      principal() {
        if (bearerToken === undefined) {
          return Promise.reject(
            new DomainError(
              "unauthenticated",
              header === null ? "missing_token" : "malformed_authorization",
              header === null
                ? "this call needs a bearer access token"
                : "the authorization header is not a bearer token",
            ),
          );
        }
        resolved ??= authenticator.authenticate(bearerToken);
        return resolved;
      },
    });
    return next(request);
  };
}
