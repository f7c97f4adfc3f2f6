import { useQuery } from "@connectrpc/connect-query";
import { useState } from "react";
import { UserService } from "../../../src/gen/gatehouse/v1/user_pb.js";
import { useMe } from "../api/me-context.tsx";
import { Link } from "../router/router.tsx";
import { Button } from "./button.tsx";
import { displayName } from "./format.ts";
import { EmptyState, ErrorState, Loading, NotPermitted } from "./page-states.tsx";
import { StatusBadge } from "./status-badge.tsx";

const PAGE_SIZE = 20;

/** Which users to list: holders of an RBAC role (by name), of a business role, or of grants on a service. */
export type HoldersFilter = { role: string } | { businessRoleId: string } | { serviceId: string };

/** The users ListUsers answers for a filter, a page at a time (its keyset tokens), each linking to the user. */
export function HoldersList(props: { filter: HoldersFilter; label: string }) {
  const me = useMe();
  const [tokens, setTokens] = useState<string[]>([""]);
  const users = useQuery(
    UserService.method.listUsers,
    { ...props.filter, pageSize: PAGE_SIZE, pageToken: tokens[tokens.length - 1]! },
    { enabled: me.can("users.read") },
  );
  if (!me.can("users.read")) return <NotPermitted permission="users.read" />;
  if (users.isPending) return <Loading label="Loading holders…" />;
  if (users.isError) return <ErrorState error={users.error} title="The holders could not be listed" />;
  return (
    <div>
      {users.data.users.length === 0 ? (
        <EmptyState title="No user holds it" />
      ) : (
        <ul className="plain-list holders" aria-label={props.label}>
          {users.data.users.map((user) => (
            <li key={user.id}>
              <Link className="row-link" href={`/console/users/${user.id}`}>
                {user.username}
              </Link>{" "}
              <span className="muted small">
                {displayName(user) === user.username ? "" : displayName(user)}
              </span>{" "}
              <StatusBadge status={user.status} />
            </li>
          ))}
        </ul>
      )}
      {tokens.length === 1 && !users.data.nextPageToken ? null : (
        <nav className="pager" aria-label={`${props.label}: pages`}>
          <Button disabled={tokens.length === 1} onClick={() => setTokens(tokens.slice(0, -1))}>
            Previous
          </Button>
          <span className="muted">Page {tokens.length}</span>
          <Button
            disabled={!users.data.nextPageToken}
            onClick={() => setTokens([...tokens, users.data.nextPageToken])}
          >
            Next
          </Button>
        </nav>
      )}
    </div>
  );
}
