import { useMe } from "./api/me-context.tsx";
import { AuditPage } from "./audit/audit-page.tsx";
import { BusinessRolesPage } from "./business-roles/business-roles-page.tsx";
import { NotPermitted } from "./components/page-states.tsx";
import { OidcClientCreatePage } from "./oidc-clients/oidc-client-create-page.tsx";
import { OidcClientDetailPage } from "./oidc-clients/oidc-client-detail-page.tsx";
import { OidcClientsPage } from "./oidc-clients/oidc-clients-page.tsx";
import { RolesPage } from "./roles/roles-page.tsx";
import { matchPath, navigate, useLocation } from "./router/router.tsx";
import { ServiceAccountDetailPage } from "./service-accounts/service-account-detail-page.tsx";
import { ServiceAccountsPage } from "./service-accounts/service-accounts-page.tsx";
import { ServiceDetailPage } from "./services/service-detail-page.tsx";
import { ServicesPage } from "./services/services-page.tsx";
import { useSession } from "./session/session-context.tsx";
import { visibleNav } from "./shell/app-shell.tsx";
import { SyncPage } from "./sync/sync-page.tsx";
import { UserCreatePage } from "./users/user-create-page.tsx";
import { UserDetailPage } from "./users/user-detail-page.tsx";
import { UsersPage } from "./users/users-page.tsx";

/** The console's screens by path; each one checks the permission it reads with. */
export function ConsoleRoutes() {
  const { path } = useLocation();
  const me = useMe();
  const session = useSession();
  const guard = (permission: string, screen: React.ReactElement) =>
    me.can(permission) ? screen : <NotPermitted permission={permission} />;

  if (path === "/console/" || path === "/console") {
    // The first screen this user may open; someone without any console permission gets the account page.
    const first = visibleNav(me.can, session.config.provider === "keycloak")[0]?.href ?? "/account/";
    queueMicrotask(() => navigate(first, { replace: true }));
    return null;
  }
  if (path === "/console/users") return guard("users.read", <UsersPage />);
  if (path === "/console/users/new") return guard("users.write", <UserCreatePage />);
  const user = matchPath("/console/users/:id", path);
  if (user !== undefined) return guard("users.read", <UserDetailPage userId={user.id!} />);
  if (path === "/console/roles") return guard("roles.read", <RolesPage />);
  if (path === "/console/business-roles") return guard("roles.read", <BusinessRolesPage />);
  if (path === "/console/services") return guard("services.read", <ServicesPage />);
  const service = matchPath("/console/services/:id", path);
  if (service !== undefined) return guard("services.read", <ServiceDetailPage serviceId={service.id!} />);
  if (path === "/console/service-accounts") return guard("services.read", <ServiceAccountsPage />);
  const account = matchPath("/console/service-accounts/:id", path);
  if (account !== undefined)
    return guard("services.read", <ServiceAccountDetailPage serviceAccountId={account.id!} />);
  if (path === "/console/oidc-clients") return guard("clients.read", <OidcClientsPage />);
  if (path === "/console/oidc-clients/new") return guard("clients.write", <OidcClientCreatePage />);
  const client = matchPath("/console/oidc-clients/:id", path);
  if (client !== undefined) return guard("clients.read", <OidcClientDetailPage id={client.id!} />);
  if (path === "/console/sync") return guard("users.sync", <SyncPage />);
  if (path === "/console/audit") return guard("audit.read", <AuditPage />);
  return (
    <div className="state state-empty">
      <p className="state-title">No such page</p>
    </div>
  );
}
