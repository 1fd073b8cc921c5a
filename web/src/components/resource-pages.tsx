/** The frames the "new" and "change" pages of a resource share, and their Save/Cancel bar. */
import type { ComponentChildren } from 'preact';
import { Link } from '../router';
import { LoadingOrError, MaybeAdminOnly } from './loading';
import { PageTitle } from './page-title';

/** Where a resource's pages live: `/agents` and "Agents", say. */
export interface ResourceBase {
  /** The list page, e.g. `/agents`. */
  href: string;
  /** Its name in the breadcrumbs. */
  label: string;
}

/** /{resource}/new: the title, the breadcrumb back to the list, then the form. */
export function NewResourcePage({ title, base, children }: { title: string; base: ResourceBase; children: ComponentChildren }) {
  return (
    <MaybeAdminOnly admin title={title}>
      <PageTitle title={title} />
      <p class="breadcrumbs"><Link href={base.href}>{base.label}</Link></p>
      {children}
    </MaybeAdminOnly>
  );
}

/**
 * /{resource}/{id}/edit: "Change {name}" (or "Change {kind}" while loading), the breadcrumbs, then
 * the form once loaded (`name` set), else "Loading…" or the error.
 */
export function EditResourcePage({ base, id, kind, name, error, admin = true, children }: {
  base: ResourceBase; id: string; kind: string; name: string | undefined; error: string | null | undefined; admin?: boolean; children: ComponentChildren;
}) {
  const loaded = name !== undefined;
  const title = loaded ? `Change ${name}` : `Change ${kind}`;
  return (
    <MaybeAdminOnly admin={admin} title={title}>
      <PageTitle title={title} />
      <p class="breadcrumbs"><Link href={base.href}>{base.label}</Link>{loaded ? <> › <Link href={`${base.href}/${encodeURIComponent(id)}`}>{name}</Link></> : null}</p>
      {loaded ? children : <LoadingOrError error={error} />}
    </MaybeAdminOnly>
  );
}

/** A form's submit and Cancel buttons: "Save changes" when editing, else `createLabel`. */
export function FormActions({ busy, busyLabel = 'Saving…', editing, createLabel, cancelHref }: {
  busy: boolean; busyLabel?: string; editing: boolean; createLabel: string; cancelHref: string;
}) {
  return (
    <div class="actions">
      <button type="submit" class="button button-primary" disabled={busy}>{busy ? busyLabel : editing ? 'Save changes' : createLabel}</button>
      <Link href={cancelHref} class="button">Cancel</Link>
    </div>
  );
}
