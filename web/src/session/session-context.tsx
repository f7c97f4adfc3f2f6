import { createContext, type ReactNode, useContext, useSyncExternalStore } from "react";
import type { OidcSession } from "./oidc-session.ts";

const SessionContext = createContext<OidcSession | undefined>(undefined);

export function SessionProvider(props: { session: OidcSession; children: ReactNode }) {
  return <SessionContext.Provider value={props.session}>{props.children}</SessionContext.Provider>;
}

/** The session, re-rendering on sign-in, refresh and expiry. */
export function useSession(): OidcSession {
  const session = useContext(SessionContext);
  if (session === undefined) throw new Error("useSession outside SessionProvider");
  useSyncExternalStore(
    (listener) => session.subscribe(listener),
    () => `${session.signedIn}:${session.accessToken ?? ""}:${session.sessionExpired}`,
  );
  return session;
}
