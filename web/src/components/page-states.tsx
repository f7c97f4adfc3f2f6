import { Code } from "@connectrpc/connect";
import type { ReactNode } from "react";
import { describeError } from "../api/describe-error.ts";

/** The states every screen has besides its content: loading, empty, error and permission denied. */
export function Loading(props: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {props.label ?? "Loading…"}
    </div>
  );
}

export function EmptyState(props: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <p className="state-title">{props.title}</p>
      {props.children}
    </div>
  );
}

/** A failed call, in the server's words: its message, the code and the ErrorInfo reason. */
export function ErrorState(props: { error: unknown; title?: string }) {
  const error = describeError(props.error);
  if (error.code === Code.PermissionDenied) {
    return (
      <div className="state state-denied" role="alert">
        <p className="state-title">{props.title ?? "You do not have permission to do this"}</p>
        <p>{error.message}</p>
        <p className="state-code">
          permission_denied{error.reason === undefined ? "" : ` · ${error.reason}`}
        </p>
      </div>
    );
  }
  return (
    <div className="state state-error" role="alert">
      <p className="state-title">{props.title ?? "The request failed"}</p>
      <p>{error.message}</p>
      <p className="state-code">
        {error.codeName}
        {error.reason === undefined ? "" : ` · ${error.reason}`}
      </p>
    </div>
  );
}

/** Shown instead of a screen whose read permission the signed-in user lacks. */
export function NotPermitted(props: { permission: string }) {
  return (
    <div className="state state-denied" role="alert">
      <p className="state-title">You do not have access to this page</p>
      <p>
        It needs the <code>{props.permission}</code> permission. Ask an administrator for a role that holds
        it.
      </p>
    </div>
  );
}

/** A short success note after an action (announced politely). */
export function Notice(props: { children: ReactNode }) {
  return (
    <p className="notice" role="status">
      {props.children}
    </p>
  );
}
