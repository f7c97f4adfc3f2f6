import { useMutation } from "@connectrpc/connect-query";
import { type ReactNode, useState } from "react";
import { AuthService } from "../../../src/gen/gatehouse/v1/auth_pb.js";
import { useMe } from "../api/me-context.tsx";
import { Button } from "../components/button.tsx";
import { displayName } from "../components/format.ts";
import { Link, useLocation } from "../router/router.tsx";
import type { AppArea } from "../session/oidc-session.ts";
import { useSession } from "../session/session-context.tsx";

interface NavItem {
  readonly href: string;
  readonly label: string;
  /** The permission the screen reads with; the item is not offered without it. */
  readonly permission?: string;
  readonly keycloakOnly?: boolean;
  /** Only under the built-in provider (its OpenID Provider's clients; under Keycloak the realm has them). */
  readonly builtinOnly?: boolean;
}

const NAV: readonly NavItem[] = [
  { href: "/console/users", label: "Users", permission: "users.read" },
  { href: "/console/roles", label: "Roles", permission: "roles.read" },
  { href: "/console/business-roles", label: "Business roles", permission: "roles.read" },
  { href: "/console/services", label: "Services", permission: "services.read" },
  { href: "/console/service-accounts", label: "Service accounts", permission: "services.read" },
  { href: "/console/oidc-clients", label: "OIDC clients", permission: "clients.read", builtinOnly: true },
  { href: "/console/sync", label: "Keycloak sync", permission: "users.sync", keycloakOnly: true },
  { href: "/console/audit", label: "Audit log", permission: "audit.read" },
  { href: "/account/", label: "My account" },
];

export function visibleNav(can: (permission: string) => boolean, keycloak: boolean): NavItem[] {
  return NAV.filter(
    (item) =>
      (item.permission === undefined || can(item.permission)) &&
      (item.keycloakOnly !== true || keycloak) &&
      (item.builtinOnly !== true || !keycloak),
  );
}

/** The frame of every signed-in screen: brand, navigation by permission, the user menu. */
export function AppShell(props: { area: AppArea; children: ReactNode }) {
  const me = useMe();
  const session = useSession();
  const { path } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  // Gatehouse ends this session (its tokens are refused at once), then the provider ends its own.
  const logout = useMutation(AuthService.method.logout, {
    onSettled: () => void session.signOut(props.area),
  });
  const items = visibleNav(me.can, session.config.provider === "keycloak");
  const user = me.response.user;
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link className="brand" href={items[0]?.href ?? "/account/"}>
          <span className="brand-mark" aria-hidden="true">
            G
          </span>
          Gatehouse
          <span className="brand-area">{props.area === "console" ? "Console" : "Account"}</span>
        </Link>
        <button
          type="button"
          className="menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="primary-nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          Menu
        </button>
        <div className="topbar-user">
          <span className="topbar-name">{user === undefined ? "" : displayName(user)}</span>
          <Button variant="ghost" busy={logout.isPending} onClick={() => logout.mutate({})}>
            Sign out
          </Button>
        </div>
      </header>
      <div className="shell-body">
        <nav id="primary-nav" aria-label="Primary" className={`sidenav${menuOpen ? " sidenav-open" : ""}`}>
          <ul>
            {items.map((item) => {
              const current = path === item.href || path.startsWith(`${item.href}/`);
              return (
                <li key={item.href}>
                  <Link
                    href={item.href}
                    aria-current={current ? "page" : undefined}
                    onClick={() => setMenuOpen(false)}
                  >
                    {item.label}
                  </Link>
                </li>
              );
            })}
          </ul>
        </nav>
        <main id="main" className="content" tabIndex={-1}>
          {props.children}
        </main>
      </div>
    </div>
  );
}
