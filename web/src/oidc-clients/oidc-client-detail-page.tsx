import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useState } from "react";
import { ServiceRegistryService } from "../../../src/gen/gatehouse/v1/service_registry_pb.js";
import { useInvalidate } from "../api/invalidate.ts";
import { useMe } from "../api/me-context.tsx";
import { Button } from "../components/button.tsx";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { formatTime } from "../components/format.ts";
import { ErrorState, Loading, Notice } from "../components/page-states.tsx";
import { SecretOnce } from "../components/secret-once.tsx";
import { PageHeader, Section } from "../components/section.tsx";
import { Badge } from "../components/status-badge.tsx";
import { Link, navigate, useTitle } from "../router/router.tsx";
import { OidcClientForm } from "./oidc-client-form.tsx";
import { usesSecret } from "./oidc-client-labels.ts";

/** The console's own client: Gatehouse registers it and refuses to delete it (managed_client). */
const CONSOLE_CLIENT_ID = "gatehouse-console";

/** One OIDC client: its settings, disable/enable, secret rotation (shown once) and delete. */
export function OidcClientDetailPage(props: { id: string }) {
  const me = useMe();
  const invalidate = useInvalidate();
  const query = useQuery(ServiceRegistryService.method.getOidcClient, {
    key: { case: "id", value: props.id },
  });
  const client = query.data?.client;
  useTitle(client?.name ?? "OIDC client");
  const [confirm, setConfirm] = useState<"rotate" | "disable" | "delete" | undefined>(undefined);
  const [secret, setSecret] = useState<string | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const update = useMutation(ServiceRegistryService.method.updateOidcClient, {
    onSuccess: async (response) => {
      setConfirm(undefined);
      setNotice(response.client?.disabled ? "Disabled; it can no longer sign anyone in." : "Enabled again.");
      await invalidate(ServiceRegistryService);
    },
  });
  const rotate = useMutation(ServiceRegistryService.method.rotateOidcClientSecret, {
    onSuccess: async (response) => {
      setConfirm(undefined);
      setSecret(response.clientSecret);
      await invalidate(ServiceRegistryService);
    },
  });
  const remove = useMutation(ServiceRegistryService.method.deleteOidcClient, {
    onSuccess: async () => {
      await invalidate(ServiceRegistryService);
      navigate("/console/oidc-clients");
    },
  });
  if (query.isPending) return <Loading />;
  if (query.isError || client === undefined)
    return <ErrorState error={query.error} title="The client could not be loaded" />;
  const writable = me.can("clients.write");
  const managed = client.clientId === CONSOLE_CLIENT_ID;
  const actionError = update.error ?? rotate.error ?? remove.error;
  return (
    <>
      <p className="breadcrumb">
        <Link href="/console/oidc-clients">OIDC clients</Link> /
      </p>
      <PageHeader
        title={client.name}
        subtitle={
          <>
            <code>{client.clientId}</code>{" "}
            {client.disabled ? <Badge tone="danger">Disabled</Badge> : <Badge tone="success">Active</Badge>}{" "}
            {managed ? <Badge tone="info">managed by Gatehouse</Badge> : null}{" "}
            {client.secretRotateDate === undefined ? null : (
              <span className="muted small">secret from {formatTime(client.secretRotateDate)}</span>
            )}
          </>
        }
        actions={
          writable ? (
            <>
              {usesSecret(client.tokenEndpointAuthMethod) ? (
                <Button onClick={() => setConfirm("rotate")}>Rotate secret</Button>
              ) : null}
              {client.disabled ? (
                <Button
                  busy={update.isPending}
                  onClick={() => update.mutate({ id: client.id, disabled: false })}
                >
                  Enable
                </Button>
              ) : (
                <Button onClick={() => setConfirm("disable")}>Disable</Button>
              )}
              {managed ? null : (
                <Button variant="danger" onClick={() => setConfirm("delete")}>
                  Delete
                </Button>
              )}
            </>
          ) : undefined
        }
      />
      {managed ? (
        <p className="muted">
          The console signs in with this client; Gatehouse registers it and it cannot be deleted.
        </p>
      ) : null}
      {secret === undefined ? null : (
        <SecretOnce clientId={client.clientId} secret={secret} onDone={() => setSecret(undefined)} />
      )}
      {notice === undefined ? null : <Notice>{notice}</Notice>}
      {actionError === null ? null : <ErrorState error={actionError} title="The change was not made" />}
      <Section title="Settings">
        <OidcClientForm key={client.id} client={client} writable={writable} />
      </Section>
      <ConfirmDialog
        open={confirm === "rotate"}
        title={`Rotate the secret of ${client.clientId}?`}
        confirmLabel="Rotate secret"
        busy={rotate.isPending}
        onCancel={() => setConfirm(undefined)}
        onConfirm={() => rotate.mutate({ id: client.id })}
      >
        <p>The old secret stops working at once; the new one is shown once.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === "disable"}
        title={`Disable ${client.clientId}?`}
        confirmLabel="Disable client"
        busy={update.isPending}
        onCancel={() => setConfirm(undefined)}
        onConfirm={() => update.mutate({ id: client.id, disabled: true })}
      >
        <p>
          {managed ? "The console itself can no longer sign anyone in. " : ""}
          Sign-ins and token requests through it are refused.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === "delete"}
        title={`Delete ${client.clientId}?`}
        confirmLabel="Delete client"
        busy={remove.isPending}
        onCancel={() => setConfirm(undefined)}
        onConfirm={() => remove.mutate({ id: client.id })}
      >
        <p>The client is removed; sign-ins and token requests through it are refused.</p>
      </ConfirmDialog>
    </>
  );
}
