import type { User } from "../../../src/gen/gatehouse/v1/types_pb.js";
import { formatTime } from "../components/format.ts";
import { Badge } from "../components/status-badge.tsx";

/** Whether the user is linked to a Keycloak user, and when they were last synced (either way). */
export function KeycloakSyncBadge(props: { user: User; compact?: boolean }) {
  const { user } = props;
  if (user.externalId === "") return <Badge tone="warning">Not in Keycloak</Badge>;
  return (
    <>
      <Badge tone="success">Synced with Keycloak</Badge>
      {props.compact === true ? null : (
        <span className="muted small" data-testid="keycloak-sync-time">
          {" "}
          last synced {formatTime(user.keycloakSyncDate)}
        </span>
      )}
    </>
  );
}
