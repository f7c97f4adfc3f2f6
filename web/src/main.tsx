import { TransportProvider } from "@connectrpc/connect-query";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createGatehouseTransport } from "./api/transport.ts";
import { App } from "./app.tsx";
import { loadFrontendConfig } from "./session/frontend-config.ts";
import { OidcSession } from "./session/oidc-session.ts";
import { SessionProvider } from "./session/session-context.tsx";
import "./styles.css";

const root = createRoot(document.getElementById("root")!);

try {
  const session = new OidcSession(await loadFrontendConfig());
  const transport = createGatehouseTransport(session);
  const queryClient = new QueryClient({
    defaultOptions: {
      // A permission or validation error will not change by asking again.
      queries: { retry: false, refetchOnWindowFocus: false, staleTime: 10_000 },
    },
  });
  root.render(
    <StrictMode>
      <SessionProvider session={session}>
        <TransportProvider transport={transport}>
          <QueryClientProvider client={queryClient}>
            <App />
          </QueryClientProvider>
        </TransportProvider>
      </SessionProvider>
    </StrictMode>,
  );
} catch (error) {
  root.render(
    <main className="centered">
      <div className="state state-error" role="alert">
        <p className="state-title">Gatehouse could not be reached</p>
        <p>{error instanceof Error ? error.message : String(error)}</p>
      </div>
    </main>,
  );
}
