import type { ReactNode } from "react";
import type { Passkey } from "../../../src/gen/gatehouse/v1/types_pb.js";
import { formatTime } from "./format.ts";
import { EmptyState } from "./page-states.tsx";
import { ScrollRegion } from "./scroll-region.tsx";
import { Badge } from "./status-badge.tsx";

/**
 * Passkeys as a person recognises them: the name they gave, when it was added and last used,
 * and whether it syncs between devices (backed up) or lives on one authenticator only.
 * `actions` renders the row's buttons (rename/remove on the account page, remove in the console).
 */
export function PasskeysTable(props: {
  passkeys: readonly Passkey[];
  empty: string;
  actions?: (passkey: Passkey) => ReactNode;
}) {
  if (props.passkeys.length === 0) return <EmptyState title={props.empty} />;
  return (
    <ScrollRegion label="Passkeys">
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Added</th>
            <th scope="col">Last used</th>
            <th scope="col" className="hide-narrow">
              Kind
            </th>
            {props.actions === undefined ? null : (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {props.passkeys.map((passkey) => (
            <tr key={passkey.id}>
              <td className="break">{passkey.name || "Passkey"}</td>
              <td>{formatTime(passkey.createTime)}</td>
              <td>{passkey.lastUseTime === undefined ? "Never" : formatTime(passkey.lastUseTime)}</td>
              <td className="hide-narrow">
                {passkey.backupEligible ? (
                  <Badge tone="info">{passkey.backedUp ? "Synced" : "Can sync"}</Badge>
                ) : (
                  <Badge>This device only</Badge>
                )}
              </td>
              {props.actions === undefined ? null : (
                <td className="cell-actions">{props.actions(passkey)}</td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollRegion>
  );
}
