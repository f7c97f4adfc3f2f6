import { useState } from "react";
import { Button } from "./button.tsx";

/**
 * Keyset paging as the List RPCs do it: the tokens of the pages seen so far (the first is ""),
 * so Previous walks back through them and Next follows the server's next_page_token.
 */
export function useKeysetPages(): {
  pageToken: string;
  page: number;
  previous: (() => void) | undefined;
  next: (nextPageToken: string) => (() => void) | undefined;
  reset: () => void;
} {
  const [tokens, setTokens] = useState<string[]>([""]);
  return {
    pageToken: tokens[tokens.length - 1]!,
    page: tokens.length,
    previous: tokens.length === 1 ? undefined : () => setTokens(tokens.slice(0, -1)),
    next: (nextPageToken) => (nextPageToken === "" ? undefined : () => setTokens([...tokens, nextPageToken])),
    reset: () => setTokens([""]),
  };
}

/** Previous / Next under a list; absent when everything fits on the first page. */
export function Pager(props: { label: string; page: number; previous?: () => void; next?: () => void }) {
  if (props.page === 1 && props.next === undefined) return null;
  return (
    <nav className="pager" aria-label={`${props.label}: pages`}>
      <Button disabled={props.previous === undefined} onClick={props.previous}>
        Previous
      </Button>
      <span className="muted">Page {props.page}</span>
      <Button disabled={props.next === undefined} onClick={props.next}>
        Next
      </Button>
    </nav>
  );
}
