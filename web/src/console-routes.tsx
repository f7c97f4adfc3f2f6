import { useMe } from "./api/me-context.tsx";
import { AuditPage } from "./audit/audit-page.tsx";
import { NotPermitted } from "./components/page-states.tsx";
import { RolesPage } from "./roles/roles-page.tsx";
import { matchPath, navigate, useLocation } from "./router/router.tsx";
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
  if (path === "/console/services") return guard("services.read", <ServicesPage />);
  if (path === "/console/sync") return guard("users.sync", <SyncPage />);
  if (path === "/console/audit") return guard("audit.read", <AuditPage />);
  return (
    <div className="state state-empty">
      <p className="state-title">No such page</p>
    </div>
  );
}
