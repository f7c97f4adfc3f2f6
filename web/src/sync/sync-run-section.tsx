import type { UseQueryResult } from "@tanstack/react-query";
import type {
  GetSyncStatusResponse,
  SyncFromKeycloakResponse,
  SyncRun,
} from "../../../src/gen/gatehouse/v1/user_pb.js";
import { formatTime } from "../components/format.ts";
import { EmptyState, ErrorState, Loading } from "../components/page-states.tsx";
import { Section } from "../components/section.tsx";

const COUNTS = ["created", "updated", "unchanged", "disabled", "failed"] as const;

type Counts = Pick<SyncRun, (typeof COUNTS)[number]>;

/** The run going on now (live progress and counts), else the one just finished, else the last full run. */
export function SyncRunSection(props: {
  status: UseQueryResult<GetSyncStatusResponse>;
  finished: SyncFromKeycloakResponse | undefined;
}) {
  const { status, finished } = props;
  const current = status.data?.currentRun;
  if (current !== undefined) {
    return (
      <Section title="Sync in progress" description={`Started ${formatTime(current.startTime)}.`}>
        <div className="progress-line">
          <label htmlFor="sync-progress">
            {current.total > 0
              ? `${current.processed} of ${current.total} Keycloak users`
              : `${current.processed} Keycloak users`}
          </label>
          <progress
            id="sync-progress"
            value={current.processed}
            {...(current.total > 0 ? { max: Math.max(current.total, current.processed) } : {})}
          />
        </div>
        <CountList counts={current} label="Counts so far" />
      </Section>
    );
  }
  const run = finished ?? status.data?.lastFullSyncResult;
  return (
    <Section title={finished === undefined ? "Last full sync" : "This sync"}>
      {status.isPending ? (
        <Loading />
      ) : status.isError ? (
        <ErrorState error={status.error} />
      ) : run === undefined ? (
        <EmptyState title="No full sync has run yet" />
      ) : (
        <>
          <CountList counts={run} label="Sync counts" />
          <p className="muted">
            Finished {formatTime(run.finishTime ?? status.data.lastFullSyncTime)} · failures since:{" "}
            {status.data.failuresSince}
          </p>
        </>
      )}
    </Section>
  );
}

function CountList(props: { counts: Counts; label: string }) {
  return (
    <dl className="stats" aria-label={props.label}>
      {COUNTS.map((name) => (
        <div
          key={name}
          className={`stat${name === "failed" && props.counts.failed > 0 ? " stat-failed" : ""}`}
        >
          <dt>{name}</dt>
          <dd data-testid={`sync-${name}`}>{props.counts[name]}</dd>
        </div>
      ))}
    </dl>
  );
}
