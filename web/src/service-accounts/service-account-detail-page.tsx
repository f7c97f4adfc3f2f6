import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useState } from "react";
import { ServiceRegistryService } from "../../../src/gen/gatehouse/v1/service_registry_pb.js";
import { describeError } from "../api/describe-error.ts";
import { maxLength, problems } from "../api/field-rules.ts";
import { useInvalidate } from "../api/invalidate.ts";
import { useMe } from "../api/me-context.tsx";
import { Button } from "../components/button.tsx";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { formatTime } from "../components/format.ts";
import { ErrorState, Loading, Notice } from "../components/page-states.tsx";
import { SecretOnce } from "../components/secret-once.tsx";
import { PageHeader, Section } from "../components/section.tsx";
import { Badge } from "../components/status-badge.tsx";
import { TextField } from "../components/text-field.tsx";
import { Link, navigate, useTitle } from "../router/router.tsx";
import { ServiceAccountGrantsSection } from "./service-account-grants-section.tsx";

type Pending = "disable" | "rotate" | "delete";

/** One service account: description, enable/disable, its grants, secret rotation (shown once), delete. */
export function ServiceAccountDetailPage(props: { serviceAccountId: string }) {
  const me = useMe();
  const invalidate = useInvalidate();
  const query = useQuery(ServiceRegistryService.method.getServiceAccount, {
    serviceAccountId: props.serviceAccountId,
  });
  const account = query.data?.serviceAccount;
  useTitle(account?.clientId ?? "Service account");
  const [confirm, setConfirm] = useState<Pending | undefined>(undefined);
  const [keepTokens, setKeepTokens] = useState(false);
  const [secret, setSecret] = useState<string | undefined>(undefined);
  const [description, setDescription] = useState<string | undefined>(undefined);
  const [local, setLocal] = useState<Map<string, string>>(new Map());
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const update = useMutation(ServiceRegistryService.method.updateServiceAccount, {
    onSuccess: async (response, request) => {
      setConfirm(undefined);
      setNotice(
        request.disabled === undefined
          ? "Description saved."
          : response.serviceAccount?.disabled
            ? "Disabled; its tokens are refused at once."
            : "Enabled again.",
      );
      await invalidate(ServiceRegistryService);
    },
  });
  const rotate = useMutation(ServiceRegistryService.method.rotateServiceAccountSecret, {
    onSuccess: async (response) => {
      setConfirm(undefined);
      setSecret(response.clientSecret);
      await invalidate(ServiceRegistryService);
    },
  });
  const remove = useMutation(ServiceRegistryService.method.deleteServiceAccount, {
    onSuccess: async () => {
      await invalidate(ServiceRegistryService);
      navigate("/console/service-accounts");
    },
  });
  if (query.isPending) return <Loading />;
  if (query.isError || account === undefined)
    return <ErrorState error={query.error} title="The service account could not be loaded" />;
  const writable = me.can("services.write");
  const errors = local.size > 0 || update.error === null ? local : describeError(update.error).fields;
  const actionError = update.error ?? rotate.error ?? remove.error;
  return (
    <>
      <p className="breadcrumb">
        <Link href="/console/service-accounts">Service accounts</Link> /
      </p>
      <PageHeader
        title={account.clientId}
        subtitle={
          <>
            {account.disabled ? <Badge tone="danger">Disabled</Badge> : <Badge tone="success">Active</Badge>}{" "}
            <span className="muted small">
              secret from {formatTime(account.secretRotateDate ?? account.creationDate)}
            </span>
          </>
        }
        actions={
          writable ? (
            <>
              <Button onClick={() => setConfirm("rotate")}>Rotate secret</Button>
              {account.disabled ? (
                <Button
                  busy={update.isPending}
                  onClick={() => update.mutate({ serviceAccountId: account.id, disabled: false })}
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
      {secret === undefined ? null : (
        <SecretOnce clientId={account.clientId} secret={secret} onDone={() => setSecret(undefined)} />
      )}
      {notice === undefined ? null : <Notice>{notice}</Notice>}
      {actionError === null || errors.size > 0 ? null : (
        <ErrorState error={actionError} title="The change was not made" />
      )}
      <Section title="Details">
        <form
          noValidate
          className="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            const value = description ?? account.description;
            const found = problems({ description: maxLength(1024)(value) });
            setLocal(found);
            if (found.size === 0) update.mutate({ serviceAccountId: account.id, description: value });
          }}
        >
          <TextField
            label="Description"
            value={description ?? account.description}
            onChange={setDescription}
            readOnly={!writable}
            error={errors.get("description")}
          />
          {writable ? (
            <Button type="submit" busy={update.isPending}>
              Save description
            </Button>
          ) : null}
        </form>
      </Section>
      <ServiceAccountGrantsSection key={account.id} account={account} />
      <ConfirmDialog
        open={confirm === "rotate"}
        title={`Rotate the secret of ${account.clientId}?`}
        confirmLabel="Rotate secret"
        busy={rotate.isPending}
        onCancel={() => setConfirm(undefined)}
        onConfirm={() => rotate.mutate({ serviceAccountId: account.id, keepIssuedTokens: keepTokens })}
      >
        <p>The old secret stops working at once; the new one is shown once.</p>
        <label className="checkbox">
          <input type="checkbox" checked={keepTokens} onChange={(e) => setKeepTokens(e.target.checked)} />
          <span>Let tokens issued under the old secret live until they expire (a planned rotation)</span>
        </label>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === "disable"}
        title={`Disable ${account.clientId}?`}
        confirmLabel="Disable service account"
        busy={update.isPending}
        onCancel={() => setConfirm(undefined)}
        onConfirm={() => update.mutate({ serviceAccountId: account.id, disabled: true })}
      >
        <p>Its tokens are refused at once and it cannot get new ones.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === "delete"}
        title={`Delete ${account.clientId}?`}
        confirmLabel="Delete service account"
        busy={remove.isPending}
        onCancel={() => setConfirm(undefined)}
        onConfirm={() => remove.mutate({ serviceAccountId: account.id })}
      >
        <p>The account, its secret and its grants are removed; its tokens are refused at once.</p>
      </ConfirmDialog>
    </>
  );
}
