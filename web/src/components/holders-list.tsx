import { useQuery } from "@connectrpc/connect-query";
import { UserService } from "../../../src/gen/gatehouse/v1/user_pb.js";
import { useMe } from "../api/me-context.tsx";
import { Link } from "../router/router.tsx";
import { displayName } from "./format.ts";
import { EmptyState, ErrorState, Loading } from "./page-states.tsx";
import { Pager, useKeysetPages } from "./pager.tsx";
import { StatusBadge } from "./status-badge.tsx";

const PAGE_SIZE = 20;

/** Which users to list: holders of an RBAC role (by name), of a business role, or of grants on a service. */
export type HoldersFilter = { role: string } | { businessRoleId: string } | { serviceId: string };

/** The users ListUsers answers for a filter, a page at a time (its keyset tokens), each linking to the user. */
export function HoldersList(props: { filter: HoldersFilter; label: string }) {
  const me = useMe();
  const pages = useKeysetPages();
  const users = useQuery(
    UserService.method.listUsers,
    { ...props.filter, pageSize: PAGE_SIZE, pageToken: pages.pageToken },
    { enabled: me.can("users.read") },
  );
  if (!me.can("users.read"))
    return (
      <p className="muted">
        Listing who holds it needs the <code>users.read</code> permission.
      </p>
    );
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
      <Pager
        label={props.label}
        page={pages.page}
        previous={pages.previous}
        next={pages.next(users.data.nextPageToken)}
      />
    </div>
  );
}
