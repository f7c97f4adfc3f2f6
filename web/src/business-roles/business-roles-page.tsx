import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useState } from "react";
import { type BusinessRole, RoleService } from "../../../src/gen/gatehouse/v1/role_pb.js";
import { ServiceRegistryService } from "../../../src/gen/gatehouse/v1/service_registry_pb.js";
import { useInvalidate } from "../api/invalidate.ts";
import { useMe } from "../api/me-context.tsx";
import { Button } from "../components/button.tsx";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { HoldersSection, HoldersToggle } from "../components/holders-section.tsx";
import { EmptyState, ErrorState, Loading } from "../components/page-states.tsx";
import { Pager, useKeysetPages } from "../components/pager.tsx";
import { RowAction } from "../components/row-action.tsx";
import { ScrollRegion } from "../components/scroll-region.tsx";
import { PageHeader, Section } from "../components/section.tsx";
import { useTitle } from "../router/router.tsx";
import { BusinessRoleEditor } from "./business-role-editor.tsx";

const PAGE_SIZE = 50;

/** Business roles: bundles of service grants (e.g. support agent = viewer on billing + editor on tickets). */
export function BusinessRolesPage() {
  useTitle("Business roles");
  const me = useMe();
  const invalidate = useInvalidate();
  const pages = useKeysetPages();
  const roles = useQuery(RoleService.method.listBusinessRoles, {
    pageSize: PAGE_SIZE,
    pageToken: pages.pageToken,
  });
  const services = useQuery(
    ServiceRegistryService.method.listServices,
    { pageSize: 500 },
    { enabled: me.can("services.read") },
  );
  // Editing needs the services to choose grants from.
  const writable = me.can("roles.write") && me.can("services.read");
  const [editing, setEditing] = useState<BusinessRole | "new" | undefined>(undefined);
  const [deleting, setDeleting] = useState<BusinessRole | undefined>(undefined);
  const [holders, setHolders] = useState<BusinessRole | undefined>(undefined);
  const remove = useMutation(RoleService.method.deleteBusinessRole, {
    onSuccess: async () => {
      if (holders?.id === deleting?.id) setHolders(undefined);
      setDeleting(undefined);
      await invalidate(RoleService);
    },
  });
  const serviceList = services.data?.services ?? [];
  const serviceName = (id: string) => {
    const service = serviceList.find((s) => s.id === id);
    return service === undefined ? id.slice(0, 8) : service.slug;
  };
  return (
    <>
      <PageHeader
        title="Business roles"
        subtitle="Bundles of service grants that users are given together, e.g. support agent."
        actions={
          writable && editing === undefined ? (
            <Button variant="primary" onClick={() => setEditing("new")}>
              New business role
            </Button>
          ) : undefined
        }
      />
      {editing === undefined ? null : (
        <Section title={editing === "new" ? "New business role" : `Edit ${editing.name}`}>
          {services.isError ? (
            <ErrorState error={services.error} title="The services could not be loaded" />
          ) : services.isPending ? (
            <Loading />
          ) : (
            <BusinessRoleEditor
              key={editing === "new" ? "new" : editing.id}
              role={editing === "new" ? undefined : editing}
              services={serviceList}
              onDone={() => setEditing(undefined)}
            />
          )}
        </Section>
      )}
      <Section title="Business roles">
        {remove.error === null ? null : (
          <ErrorState error={remove.error} title="The business role was not deleted" />
        )}
        {roles.isPending ? (
          <Loading />
        ) : roles.isError ? (
          <ErrorState error={roles.error} />
        ) : roles.data.businessRoles.length === 0 ? (
          <EmptyState title="No business roles yet">
            {writable ? <p>Create one to hand out several service grants at once.</p> : null}
          </EmptyState>
        ) : (
          <ScrollRegion label="Business roles">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Business role</th>
                  <th scope="col">Grants</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {roles.data.businessRoles.map((role) => (
                  <tr key={role.id}>
                    <td>
                      <strong>{role.name}</strong>
                      <div className="muted small">{role.description}</div>
                    </td>
                    <td className="small">
                      {role.grants.map((g) => `${g.role} on ${serviceName(g.serviceId)}`).join(", ") || "—"}
                    </td>
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
                      {me.can("roles.write") ? (
                        <RowAction action="Delete" subject={role.name} onClick={() => setDeleting(role)} />
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollRegion>
        )}
        {roles.data === undefined ? null : (
          <Pager
            label="Business roles"
            page={pages.page}
            previous={pages.previous}
            next={pages.next(roles.data.nextPageToken)}
          />
        )}
      </Section>
      {holders === undefined ? null : (
        <HoldersSection
          name={holders.name}
          id={holders.id}
          filter={{ businessRoleId: holders.id }}
          onClose={() => setHolders(undefined)}
        />
      )}
      <ConfirmDialog
        open={deleting !== undefined}
        title={`Delete the business role ${deleting?.name ?? ""}?`}
        confirmLabel="Delete business role"
        busy={remove.isPending}
        onCancel={() => setDeleting(undefined)}
        onConfirm={() => remove.mutate({ businessRoleId: deleting!.id })}
      >
        <p>Its holders lose the grants it bundles at their next request.</p>
      </ConfirmDialog>
    </>
  );
}
