import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { useQuery } from "@connectrpc/connect-query";
import { useState } from "react";
import { UserService } from "../../../src/gen/gatehouse/v1/user_pb.js";
import { Button } from "../components/button.tsx";
import { formatTime } from "../components/format.ts";
import { EmptyState, ErrorState, Loading } from "../components/page-states.tsx";
import { ScrollRegion } from "../components/scroll-region.tsx";
import { Badge } from "../components/status-badge.tsx";

interface Filter {
  readonly action?: string;
  readonly actorId?: string;
  readonly targetId?: string;
  readonly result?: string;
  readonly since?: Timestamp | undefined;
  readonly until?: Timestamp | undefined;
}

/** How often the newest page is read again while following. */
const FOLLOW_POLL_MS = 5_000;

/** Audit events, newest first, keyset-paged; `follow` polls for new ones (on the newest page only). */
export function AuditTable(props: { filter: Filter; pageSize: number; follow?: boolean }) {
  const [tokens, setTokens] = useState<string[]>([""]);
  const events = useQuery(
    UserService.method.listAuditEvents,
    { ...props.filter, pageSize: props.pageSize, pageToken: tokens[tokens.length - 1]! },
    { refetchInterval: props.follow === true && tokens.length === 1 ? FOLLOW_POLL_MS : false },
  );
  if (events.isPending) return <Loading label="Loading events…" />;
  if (events.isError) return <ErrorState error={events.error} />;
  if (events.data.events.length === 0 && tokens.length === 1) return <EmptyState title="No events" />;
  return (
    <>
      <ScrollRegion label="Audit events">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Action</th>
              <th scope="col">Outcome</th>
              <th scope="col" className="hide-narrow">
                Actor
              </th>
              <th scope="col" className="hide-narrow">
                Subject
              </th>
            </tr>
          </thead>
          <tbody>
            {events.data.events.map((event) => (
              <tr key={event.id}>
                <td>{formatTime(event.time)}</td>
                <td>
                  <code>{event.action}</code>
                </td>
                <td>
                  <Badge tone={event.result === "success" ? "success" : "danger"}>{event.result}</Badge>
                  {event.reason === "" ? null : <span className="muted small"> {event.reason}</span>}
                </td>
                <td className="hide-narrow break small">
                  {event.actorKind} {event.actorId}
                </td>
                <td className="hide-narrow break small">
                  {event.targetKind} {event.targetId}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
      <nav className="pager" aria-label="Event pages">
        <Button disabled={tokens.length === 1} onClick={() => setTokens(tokens.slice(0, -1))}>
          Newer
        </Button>
        <Button
          disabled={!events.data.nextPageToken}
          onClick={() => setTokens([...tokens, events.data.nextPageToken])}
        >
          Older
        </Button>
      </nav>
    </>
  );
}
