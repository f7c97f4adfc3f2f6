import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useState } from "react";
import { type Role, RoleService } from "../../../src/gen/gatehouse/v1/role_pb.js";
import { useInvalidate } from "../api/invalidate.ts";
import { useMe } from "../api/me-context.tsx";
import { Button } from "../components/button.tsx";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { HoldersSection, HoldersToggle } from "../components/holders-section.tsx";
import { ErrorState, Loading } from "../components/page-states.tsx";
import { RowAction } from "../components/row-action.tsx";
import { ScrollRegion } from "../components/scroll-region.tsx";
import { PageHeader, Section } from "../components/section.tsx";
import { Badge } from "../components/status-badge.tsx";
import { useTitle } from "../router/router.tsx";
import { RoleEditor } from "./role-editor.tsx";

/** RBAC roles: their permissions from the catalogue, create, edit, delete, and who holds each. */
export function RolesPage() {
  useTitle("Roles");
  const roles = useQuery(RoleService.method.listRoles, { pageSize: 500 });
  const catalogue = useQuery(RoleService.method.listPermissions, {});
  const me = useMe();
  const invalidate = useInvalidate();
  const writable = me.can("roles.write");
  /** The role being edited; "new" while creating one. */
  const [editing, setEditing] = useState<Role | "new" | undefined>(undefined);
  const [deleting, setDeleting] = useState<Role | undefined>(undefined);
  /** The role whose holders are listed below the table. */
  const [holders, setHolders] = useState<Role | undefined>(undefined);
  const deleteRole = useMutation(RoleService.method.deleteRole, {
    onSuccess: async () => {
      setDeleting(undefined);
      await invalidate(RoleService);
    },
  });
  return (
    <>
      <PageHeader
        title="Roles"
        subtitle="RBAC roles grant Gatehouse permissions (what one may do in Gatehouse itself)."
      />
      <Section
        title="RBAC roles"
        actions={
          writable && editing === undefined ? (
            <Button variant="primary" onClick={() => setEditing("new")}>
              New role
            </Button>
          ) : undefined
        }
      >
        {editing !== undefined && catalogue.data !== undefined ? (
          <RoleEditor
            key={editing === "new" ? "new" : editing.id}
            role={editing === "new" ? undefined : editing}
            catalogue={catalogue.data.permissions}
            onDone={() => setEditing(undefined)}
          />
        ) : null}
        {deleteRole.error === null ? null : (
          <ErrorState error={deleteRole.error} title="The role was not deleted" />
        )}
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
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
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
                    <td className="cell-actions">
                      {me.can("users.read") ? (
                        <HoldersToggle
                          name={role.name}
                          open={holders?.id === role.id}
                          onToggle={() => setHolders(holders?.id === role.id ? undefined : role)}
                        />
                      ) : null}
                      {writable ? (
                        <RowAction action="Edit" subject={role.name} onClick={() => setEditing(role)} />
                      ) : null}
                      {writable && !role.builtIn ? (
                        <RowAction action="Delete" subject={role.name} onClick={() => setDeleting(role)} />
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollRegion>
        )}
      </Section>
      {holders === undefined ? null : (
        <HoldersSection
          name={holders.name}
          id={holders.id}
          filter={{ role: holders.name }}
          onClose={() => setHolders(undefined)}
        />
      )}
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
      <ConfirmDialog
        open={deleting !== undefined}
        title={`Delete the role ${deleting?.name ?? ""}?`}
        confirmLabel="Delete role"
        busy={deleteRole.isPending}
        onCancel={() => setDeleting(undefined)}
        onConfirm={() => deleteRole.mutate({ roleId: deleting!.id })}
      >
        <p>Its holders lose its permissions at once.</p>
      </ConfirmDialog>
    </>
  );
}
