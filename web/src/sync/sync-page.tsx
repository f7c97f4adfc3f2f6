import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useState } from "react";
import { UserService } from "../../../src/gen/gatehouse/v1/user_pb.js";
import { useInvalidate } from "../api/invalidate.ts";
import { Button } from "../components/button.tsx";
import { formatTime } from "../components/format.ts";
import { EmptyState, ErrorState, Loading, Notice } from "../components/page-states.tsx";
import { PageHeader, Section } from "../components/section.tsx";
import { Link, useTitle } from "../router/router.tsx";

const COUNTS = ["created", "updated", "unchanged", "disabled", "failed"] as const;

/** Keycloak sync: run a full import, see its counts, the last run, and the drift report. */
export function SyncPage() {
  useTitle("Keycloak sync");
  const invalidate = useInvalidate();
  const [withDrift, setWithDrift] = useState(false);
  const status = useQuery(UserService.method.getSyncStatus, { includeDrift: withDrift });
  const sync = useMutation(UserService.method.syncFromKeycloak, { onSuccess: () => invalidate(UserService) });
  const run = sync.data ?? status.data?.lastFullSyncResult;
  return (
    <>
      <PageHeader
        title="Keycloak sync"
        subtitle="Keycloak owns identities; Gatehouse keeps a linked local record of each."
        actions={
          <Button variant="primary" busy={sync.isPending} onClick={() => sync.mutate({})}>
            {sync.isPending ? "Syncing…" : "Sync from Keycloak"}
          </Button>
        }
      />
      {sync.error === null ? null : <ErrorState error={sync.error} title="The sync did not run" />}
      {sync.data === undefined ? null : <Notice>Sync finished at {formatTime(sync.data.finishTime)}.</Notice>}
      <Section title={sync.data === undefined ? "Last full sync" : "This sync"}>
        {status.isPending ? (
          <Loading />
        ) : status.isError ? (
          <ErrorState error={status.error} />
        ) : run === undefined ? (
          <EmptyState title="No full sync has run yet" />
        ) : (
          <>
            <dl className="stats" aria-label="Sync counts">
              {COUNTS.map((name) => (
                <div
                  key={name}
                  className={`stat${name === "failed" && run.failed > 0 ? " stat-failed" : ""}`}
                >
                  <dt>{name}</dt>
                  <dd data-testid={`sync-${name}`}>{run[name]}</dd>
                </div>
              ))}
            </dl>
            <p className="muted">
              Finished {formatTime(run.finishTime ?? status.data.lastFullSyncTime)} · failures since:{" "}
              {status.data.failuresSince}
            </p>
          </>
        )}
      </Section>
      <Section
        title="Drift"
        description="Users that differ between Keycloak and Gatehouse (reads every Keycloak user)."
        actions={
          <Button
            onClick={() => (withDrift ? void status.refetch() : setWithDrift(true))}
            busy={withDrift && status.isFetching}
          >
            Check drift
          </Button>
        }
      >
        {!withDrift || status.data === undefined || !status.data.driftComputed ? (
          <p className="muted">Not checked yet.</p>
        ) : status.data.onlyInKeycloak.length +
            status.data.onlyLocal.length +
            status.data.differing.length ===
          0 ? (
          <EmptyState title="No drift: Keycloak and Gatehouse agree" />
        ) : (
          <ul className="drift">
            {status.data.onlyInKeycloak.map((name) => (
              <li key={`k:${name}`}>
                <strong>{name}</strong> is only in Keycloak — “Sync from Keycloak” imports it.
              </li>
            ))}
            {status.data.onlyLocal.map((name) => (
              <li key={`l:${name}`}>
                <strong>{name}</strong> is only in Gatehouse — “Sync from Keycloak” disables it.
              </li>
            ))}
            {status.data.differing.map((drift) => (
              <li key={drift.userId}>
                <Link href={`/console/users/${drift.userId}`}>{drift.username}</Link> differs in{" "}
                {drift.fields.join(", ")} — “Sync from Keycloak” takes Keycloak's values, “Sync to Keycloak”
                on the user pushes Gatehouse's.
              </li>
            ))}
          </ul>
        )}
      </Section>
    </>
  );
}
