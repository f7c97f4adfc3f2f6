import { type ReactNode, useId } from "react";

/** A titled card on a page: one concern (profile, roles, sessions…) each. */
export function Section(props: {
  title: string;
  description?: string;
  actions?: ReactNode;
  children: ReactNode;
}) {
  const id = useId();
  return (
    <section className="card" aria-labelledby={id}>
      <header className="card-header">
        <div>
          <h2 id={id}>{props.title}</h2>
          {props.description === undefined ? null : <p className="card-description">{props.description}</p>}
        </div>
        {props.actions === undefined ? null : <div className="card-actions">{props.actions}</div>}
      </header>
      {props.children}
    </section>
  );
}

export function PageHeader(props: { title: string; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1>{props.title}</h1>
        {props.subtitle === undefined ? null : <p className="page-subtitle">{props.subtitle}</p>}
      </div>
      {props.actions === undefined ? null : <div className="page-actions">{props.actions}</div>}
    </header>
  );
}
