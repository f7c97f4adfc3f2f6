import type { Interceptor, Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import type { OidcSession } from "../session/oidc-session.ts";

/**
 * The one transport of the app: the Connect protocol with JSON to this origin (Gatehouse serves
 * the app itself, so no CORS), the session's current access token on every call.
 */
export function createGatehouseTransport(session: OidcSession): Transport {
  const bearer: Interceptor = (next) => (request) => {
    const token = session.accessToken;
    if (token !== undefined) request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
  return createConnectTransport({
    baseUrl: window.location.origin,
    useBinaryFormat: false,
    interceptors: [bearer],
  });
}
