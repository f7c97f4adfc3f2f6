import { useMutation, useQuery } from "@connectrpc/connect-query";
import { UserService } from "../../../src/gen/gatehouse/v1/user_pb.js";
import { useInvalidate } from "../api/invalidate.ts";
import { Button } from "../components/button.tsx";
import { formatTime } from "../components/format.ts";
import { ErrorState, Notice } from "../components/page-states.tsx";
import { PageHeader } from "../components/section.tsx";
import { useTitle } from "../router/router.tsx";
import { DriftSection } from "./drift-section.tsx";
import { SyncRunSection } from "./sync-run-section.tsx";

/** While a full sync runs (here or on another replica), its progress is polled this often. */
const PROGRESS_POLL_MS = 1_000;
/** Otherwise, this often: a run started on another replica shows up without a reload. */
const IDLE_POLL_MS = 15_000;

/** Keycloak sync: run a full import with live progress, its counts, the last run, and the drift report. */
export function SyncPage() {
  useTitle("Keycloak sync");
  const invalidate = useInvalidate();
  const sync = useMutation(UserService.method.syncFromKeycloak, { onSettled: () => invalidate(UserService) });
  // The light status (no drift): polled while a run is in flight, ours or any replica's.
  const status = useQuery(
    UserService.method.getSyncStatus,
    { includeDrift: false },
    {
      refetchInterval: (query) =>
        sync.isPending || query.state.data?.currentRun !== undefined ? PROGRESS_POLL_MS : IDLE_POLL_MS,
    },
  );
  const running = sync.isPending || status.data?.currentRun !== undefined;
  return (
    <>
      <PageHeader
        title="Keycloak sync"
        subtitle="Keycloak owns identities; Gatehouse keeps a linked local record of each."
        actions={
          <Button variant="primary" busy={running} onClick={() => sync.mutate({})}>
            {running ? "Syncing…" : "Sync from Keycloak"}
          </Button>
        }
      />
      {sync.error === null ? null : <ErrorState error={sync.error} title="The sync did not run" />}
      {sync.data === undefined ? null : <Notice>Sync finished at {formatTime(sync.data.finishTime)}.</Notice>}
      <SyncRunSection status={status} finished={sync.data} />
      <DriftSection />
    </>
  );
}
