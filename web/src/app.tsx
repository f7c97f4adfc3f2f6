import { useEffect, useRef, useState } from "react";
import { AccountPage } from "./account/account-page.tsx";
import { MeProvider } from "./api/me-context.tsx";
import { ConsoleRoutes } from "./console-routes.tsx";
import { navigate, useLocation } from "./router/router.tsx";
import type { AppArea } from "./session/oidc-session.ts";
import { useSession } from "./session/session-context.tsx";
import { AppShell } from "./shell/app-shell.tsx";
import { SignInPage } from "./shell/sign-in-page.tsx";

/** /account/… is the account page (everyone); everything else under /console/ is the console. */
export function App() {
  const { path } = useLocation();
  const area: AppArea = path.startsWith("/account") ? "account" : "console";
  const session = useSession();
  const callback = path === `/${area}/callback`;
  const [callbackError, setCallbackError] = useState<string | undefined>(undefined);
  const handled = useRef(false);

  useEffect(() => {
    if (!callback || handled.current) return;
    handled.current = true;
    session.completeSignIn(area, new URL(window.location.href)).then(
      (returnTo) => navigate(returnTo, { replace: true }),
      (error: unknown) => {
        setCallbackError(error instanceof Error ? error.message : String(error));
        navigate(`/${area}/`, { replace: true });
      },
    );
  }, [callback, area, session]);

  if (!session.signedIn) {
    return <SignInPage area={area} callbackPending={callback} error={callbackError} />;
  }
  return (
    <MeProvider>
      <AppShell area={area}>{area === "account" ? <AccountPage /> : <ConsoleRoutes />}</AppShell>
    </MeProvider>
  );
}
