import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useState } from "react";
import { ServiceRegistryService, ServiceStatus } from "../../../src/gen/gatehouse/v1/service_registry_pb.js";
import { useInvalidate } from "../api/invalidate.ts";
import { useMe } from "../api/me-context.tsx";
import { Button } from "../components/button.tsx";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { formatTime } from "../components/format.ts";
import { ErrorState, Loading, Notice } from "../components/page-states.tsx";
import { PageHeader, Section } from "../components/section.tsx";
import { Badge } from "../components/status-badge.tsx";
import { Link, navigate, useTitle } from "../router/router.tsx";
import { ServiceEditForm } from "./service-edit-form.tsx";
import { ServiceHoldersSection } from "./service-holders-section.tsx";

/** One service: its settings and roles, enable/disable, delete, and who holds grants on it. */
export function ServiceDetailPage(props: { serviceId: string }) {
  const me = useMe();
  const invalidate = useInvalidate();
  const query = useQuery(ServiceRegistryService.method.getService, {
    key: { case: "serviceId", value: props.serviceId },
  });
  const service = query.data?.service;
  useTitle(service === undefined ? "Service" : service.displayName || service.slug);
  const [confirm, setConfirm] = useState<"disable" | "delete" | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const setStatus = useMutation(ServiceRegistryService.method.updateService, {
    onSuccess: async (response) => {
      setConfirm(undefined);
      setNotice(
        response.service?.status === ServiceStatus.DISABLED
          ? "Disabled; every request to it is denied."
          : "Enabled again.",
      );
      await invalidate(ServiceRegistryService);
    },
  });
  const remove = useMutation(ServiceRegistryService.method.deleteService, {
    onSuccess: async () => {
      await invalidate(ServiceRegistryService);
      navigate("/console/services");
    },
  });
  if (query.isPending) return <Loading />;
  if (query.isError || service === undefined)
    return <ErrorState error={query.error} title="The service could not be loaded" />;
  const writable = me.can("services.write");
  const disabled = service.status === ServiceStatus.DISABLED;
  return (
    <>
      <p className="breadcrumb">
        <Link href="/console/services">Services</Link> /
      </p>
      <PageHeader
        title={service.displayName || service.slug}
        subtitle={
          <>
            <code>{service.slug}</code>{" "}
            {disabled ? <Badge tone="danger">Disabled</Badge> : <Badge tone="success">Active</Badge>}{" "}
            <span className="muted small">changed {formatTime(service.changeDate)}</span>
          </>
        }
        actions={
          writable ? (
            <>
              {disabled ? (
                <Button
                  busy={setStatus.isPending}
                  onClick={() => setStatus.mutate({ serviceId: service.id, status: ServiceStatus.ACTIVE })}
                >
                  Enable
                </Button>
              ) : (
                <Button onClick={() => setConfirm("disable")}>Disable</Button>
              )}
              <Button variant="danger" onClick={() => setConfirm("delete")}>
                Delete
              </Button>
            </>
          ) : undefined
        }
      />
      {notice === undefined ? null : <Notice>{notice}</Notice>}
      {setStatus.error === null ? null : (
        <ErrorState error={setStatus.error} title="The status did not change" />
      )}
      {remove.error === null ? null : <ErrorState error={remove.error} title="The service was not deleted" />}
      <Section title="Settings and roles">
        <ServiceEditForm key={service.id} service={service} writable={writable} />
      </Section>
      <ServiceHoldersSection service={service} />
      <ConfirmDialog
        open={confirm === "disable"}
        title={`Disable ${service.slug}?`}
        confirmLabel="Disable service"
        busy={setStatus.isPending}
        onCancel={() => setConfirm(undefined)}
        onConfirm={() => setStatus.mutate({ serviceId: service.id, status: ServiceStatus.DISABLED })}
      >
        <p>Every request to it is denied at once, whatever grants its callers hold.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === "delete"}
        title={`Delete ${service.slug}?`}
        confirmLabel="Delete service"
        busy={remove.isPending}
        onCancel={() => setConfirm(undefined)}
        onConfirm={() => remove.mutate({ serviceId: service.id })}
      >
        <p>The service and every grant on it are removed; this cannot be undone.</p>
      </ConfirmDialog>
    </>
  );
}
