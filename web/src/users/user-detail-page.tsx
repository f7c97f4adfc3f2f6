import { useQuery } from "@connectrpc/connect-query";
import { UserService } from "../../../src/gen/gatehouse/v1/user_pb.js";
import { useMe } from "../api/me-context.tsx";
import { displayName, formatTime } from "../components/format.ts";
import { ErrorState, Loading } from "../components/page-states.tsx";
import { PageHeader } from "../components/section.tsx";
import { Badge, StatusBadge } from "../components/status-badge.tsx";
import { Link, useTitle } from "../router/router.tsx";
import { useSession } from "../session/session-context.tsx";
import { KeycloakSyncBadge } from "../sync/keycloak-sync-badge.tsx";
import { UserAuditSection } from "./user-audit-section.tsx";
import { UserGrantsSection } from "./user-grants-section.tsx";
import { UserIdentitySection } from "./user-identity-section.tsx";
import { UserMfaSection } from "./user-mfa-section.tsx";
import { UserPasskeysSection } from "./user-passkeys-section.tsx";
import { UserPasswordSection } from "./user-password-section.tsx";
import { UserRolesSection } from "./user-roles-section.tsx";
import { UserSessionsSection } from "./user-sessions-section.tsx";
import { UserStatusActions } from "./user-status-actions.tsx";

/** One user: status actions in the header, then a section per concern, each offered by permission. */
export function UserDetailPage(props: { userId: string }) {
  const me = useMe();
  const session = useSession();
  const query = useQuery(UserService.method.getUser, { userId: props.userId });
  useTitle(query.data?.user === undefined ? "User" : displayName(query.data.user));
  if (query.isPending) return <Loading label="Loading user…" />;
  if (query.isError) return <ErrorState error={query.error} title="The user could not be loaded" />;
  const user = query.data.user!;
  const keycloak = session.config.provider === "keycloak";
  return (
    <>
      <p className="breadcrumb">
        <Link href="/console/users">Users</Link> / {user.username}
      </p>
      <PageHeader
        title={displayName(user)}
        subtitle={
          <span className="badges">
            <StatusBadge status={user.status} />
            {user.mfaEnabled ? <Badge tone="info">MFA on</Badge> : <Badge>MFA off</Badge>}
            {keycloak ? <KeycloakSyncBadge user={user} /> : null}
            <span className="muted small">
              Created {formatTime(user.creationDate)} · changed {formatTime(user.changeDate)} · last sign-in{" "}
              {formatTime(user.lastLoginDate)}
            </span>
          </span>
        }
        actions={
          me.can("users.write") || me.can("users.sync") ? <UserStatusActions user={user} /> : undefined
        }
      />
      <UserIdentitySection user={user} />
      {me.can("users.write") && !keycloak ? <UserPasswordSection user={user} /> : null}
      <UserMfaSection user={user} />
      <UserRolesSection user={user} />
      <UserGrantsSection user={user} />
      {session.config.passkeys ? <UserPasskeysSection user={user} /> : null}
      <UserSessionsSection user={user} />
      {me.can("audit.read") ? <UserAuditSection user={user} /> : null}
    </>
  );
}
