import { useState } from "react";
import { Button } from "../components/button.tsx";
import { Loading } from "../components/page-states.tsx";
import { useLocation, useTitle } from "../router/router.tsx";
import { type AppArea, takeSignedOutNotice } from "../session/oidc-session.ts";
import { useSession } from "../session/session-context.tsx";

/** Before a session: one button to the provider's hosted sign-in page (code + PKCE). */
export function SignInPage(props: { area: AppArea; callbackPending: boolean; error: string | undefined }) {
  const session = useSession();
  const { path } = useLocation();
  const [signedOut] = useState(takeSignedOutNotice);
  useTitle("Sign in");
  const provider = session.config.provider === "keycloak" ? "Keycloak" : "Gatehouse";
  const returnTo = path.endsWith("/callback") ? `/${props.area}/` : path;
  return (
    <main className="centered">
      <div className="signin-card">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true">
            G
          </span>
          Gatehouse
        </div>
        <h1>{props.area === "console" ? "Administration console" : "Your account"}</h1>
        {props.callbackPending ? (
          <Loading label="Signing you in…" />
        ) : (
          <>
            {signedOut ? (
              <p className="notice" role="status">
                You are signed out.
              </p>
            ) : null}
            {session.sessionExpired ? (
              <p className="notice notice-warning" role="status">
                Your session ended. Sign in again to continue.
              </p>
            ) : null}
            {props.error === undefined ? null : (
              <div className="state state-error" role="alert">
                <p className="state-title">Sign-in failed</p>
                <p>{props.error}</p>
              </div>
            )}
            <p className="muted">You will sign in on {provider}'s page and come back here.</p>
            <Button variant="primary" onClick={() => void session.signIn(props.area, returnTo)}>
              Sign in
            </Button>
          </>
        )}
      </div>
    </main>
  );
}
