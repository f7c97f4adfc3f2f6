import { useQuery } from "@connectrpc/connect-query";
import { useState } from "react";
import { RoleService } from "../../../src/gen/gatehouse/v1/role_pb.js";
import { UserStatus } from "../../../src/gen/gatehouse/v1/types_pb.js";
import { UserService } from "../../../src/gen/gatehouse/v1/user_pb.js";
import { useMe } from "../api/me-context.tsx";
import { Button } from "../components/button.tsx";
import { displayName, formatTime } from "../components/format.ts";
import { EmptyState, ErrorState, Loading } from "../components/page-states.tsx";
import { ScrollRegion } from "../components/scroll-region.tsx";
import { PageHeader } from "../components/section.tsx";
import { SelectField } from "../components/select-field.tsx";
import { Badge, StatusBadge } from "../components/status-badge.tsx";
import { TextField } from "../components/text-field.tsx";
import { Link, navigate, useLocation, useTitle } from "../router/router.tsx";
import { useSession } from "../session/session-context.tsx";
import { KeycloakSyncBadge } from "../sync/keycloak-sync-badge.tsx";

const PAGE_SIZE = 25;

const STATUS_OPTIONS = [
  { value: String(UserStatus.UNSPECIFIED), label: "Any status" },
  { value: String(UserStatus.ACTIVE), label: "Active" },
  { value: String(UserStatus.DISABLED), label: "Disabled" },
  { value: String(UserStatus.LOCKED), label: "Locked" },
];

/**
 * Users: search and filters go to the server (ListUsers' keyset pagination: each page is one index
 * range scan however deep), and Previous walks back through the tokens already seen.
 */
export function UsersPage() {
  useTitle("Users");
  const me = useMe();
  const keycloak = useSession().config.provider === "keycloak";
  const [draft, setDraft] = useState("");
  const [query, setQuery] = useState("");
  const [status, setStatus] = useState(String(UserStatus.UNSPECIFIED));
  // A role's "Holders" link opens this list filtered by it (/console/users?role=…).
  const [role, setRole] = useState(useLocation().search.get("role") ?? "");
  const [tokens, setTokens] = useState<string[]>([""]);
  const pageToken = tokens[tokens.length - 1]!;
  const users = useQuery(UserService.method.listUsers, {
    query,
    status: Number(status) as UserStatus,
    role,
    pageSize: PAGE_SIZE,
    pageToken,
  });
  const roles = useQuery(RoleService.method.listRoles, { pageSize: 500 }, { enabled: me.can("roles.read") });
  const resetPaging = () => setTokens([""]);

  return (
    <>
      <PageHeader
        title="Users"
        subtitle="People who sign in through Gatehouse."
        actions={
          me.can("users.write") ? (
            <Button variant="primary" onClick={() => navigate("/console/users/new")}>
              Create user
            </Button>
          ) : undefined
        }
      />
      <form
        className="filters"
        aria-label="Search users"
        onSubmit={(event) => {
          event.preventDefault();
          setQuery(draft.trim());
          resetPaging();
        }}
      >
        <TextField
          label="Search"
          type="search"
          placeholder="Username, email or name"
          value={draft}
          onChange={setDraft}
          className="filters-grow"
        />
        <SelectField
          label="Status"
          value={status}
          options={STATUS_OPTIONS}
          onChange={(value) => {
            setStatus(value);
            resetPaging();
          }}
        />
        {me.can("roles.read") ? (
          <SelectField
            label="Role"
            value={role}
            options={[
              { value: "", label: "Any role" },
              ...(roles.data?.roles ?? []).map((r) => ({ value: r.name, label: r.name })),
            ]}
            onChange={(value) => {
              setRole(value);
              resetPaging();
            }}
          />
        ) : null}
        <Button type="submit" variant="secondary">
          Search
        </Button>
      </form>
      {users.isPending ? (
        <Loading label="Loading users…" />
      ) : users.isError ? (
        <ErrorState error={users.error} />
      ) : users.data.users.length === 0 ? (
        <EmptyState title={query === "" ? "No users yet" : `No users match “${query}”`}>
          {me.can("users.write") ? <p>Create one with “Create user”.</p> : null}
        </EmptyState>
      ) : (
        <ScrollRegion label="Users">
          <table className="table">
            <caption className="visually-hidden">Users</caption>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Email</th>
                <th scope="col">Status</th>
                <th scope="col" className="hide-narrow">
                  Roles
                </th>
                <th scope="col" className="hide-narrow">
                  Last sign-in
                </th>
              </tr>
            </thead>
            <tbody>
              {users.data.users.map((user) => (
                <tr key={user.id}>
                  <td>
                    <Link href={`/console/users/${user.id}`} className="row-link">
                      {displayName(user)}
                    </Link>
                    <div className="muted small">{user.username}</div>
                  </td>
                  <td className="break">{user.email}</td>
                  <td>
                    <StatusBadge status={user.status} />
                    {user.mfaEnabled ? <Badge tone="info">MFA</Badge> : null}
                    {keycloak ? <KeycloakSyncBadge user={user} compact /> : null}
                  </td>
                  <td className="hide-narrow">{user.roles.join(", ") || "—"}</td>
                  <td className="hide-narrow">{formatTime(user.lastLoginDate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollRegion>
      )}
      <nav className="pager" aria-label="Pages">
        <Button disabled={tokens.length === 1} onClick={() => setTokens(tokens.slice(0, -1))}>
          Previous
        </Button>
        <span className="muted">Page {tokens.length}</span>
        <Button
          disabled={!users.data?.nextPageToken}
          onClick={() => setTokens([...tokens, users.data!.nextPageToken])}
        >
          Next
        </Button>
      </nav>
    </>
  );
}
