import { useQuery } from "@connectrpc/connect-query";
import { RoleService } from "../../../src/gen/gatehouse/v1/role_pb.js";
import { EmptyState, ErrorState, Loading } from "../components/page-states.tsx";
import { ScrollRegion } from "../components/scroll-region.tsx";
import { PageHeader, Section } from "../components/section.tsx";
import { Badge } from "../components/status-badge.tsx";
import { useTitle } from "../router/router.tsx";

/** RBAC roles with their permissions, business roles, and the permission catalogue (read-only for now). */
export function RolesPage() {
  useTitle("Roles");
  const roles = useQuery(RoleService.method.listRoles, { pageSize: 500 });
  const business = useQuery(RoleService.method.listBusinessRoles, { pageSize: 500 });
  const catalogue = useQuery(RoleService.method.listPermissions, {});
  return (
    <>
      <PageHeader
        title="Roles"
        subtitle="RBAC roles grant Gatehouse permissions; business roles bundle service grants."
      />
      <Section title="RBAC roles">
        {roles.isPending ? (
          <Loading />
        ) : roles.isError ? (
          <ErrorState error={roles.error} />
        ) : (
          <ScrollRegion label="RBAC roles">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Role</th>
                  <th scope="col">Permissions</th>
                </tr>
              </thead>
              <tbody>
                {roles.data.roles.map((role) => (
                  <tr key={role.id}>
                    <td>
                      <strong>{role.name}</strong> {role.builtIn ? <Badge>built-in</Badge> : null}
                      <div className="muted small">{role.description}</div>
                    </td>
                    <td className="small">{role.permissions.join(", ") || "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollRegion>
        )}
      </Section>
      <Section title="Business roles">
        {business.isPending ? (
          <Loading />
        ) : business.isError ? (
          <ErrorState error={business.error} />
        ) : business.data.businessRoles.length === 0 ? (
          <EmptyState title="No business roles yet" />
        ) : (
          <ul className="plain-list">
            {business.data.businessRoles.map((role) => (
              <li key={role.id}>
                <strong>{role.name}</strong> — {role.grants.length} grant(s)
                <div className="muted small">{role.description}</div>
              </li>
            ))}
          </ul>
        )}
      </Section>
      <Section title="Permission catalogue">
        {catalogue.isPending ? (
          <Loading />
        ) : catalogue.isError ? (
          <ErrorState error={catalogue.error} />
        ) : (
          <dl className="catalogue">
            {catalogue.data.permissions.map((permission) => (
              <div key={permission.name}>
                <dt>
                  <code>{permission.name}</code>
                </dt>
                <dd>{permission.description}</dd>
              </div>
            ))}
          </dl>
        )}
      </Section>
    </>
  );
}
