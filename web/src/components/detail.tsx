/** Pieces the detail pages of resources share: the live state line and the action buttons. */
import { Link } from '../router';
import { StateBadge } from './state-badge';

/** The state badge, a spinner while `spinning`, and the state's message (red when `bad`), announced politely. */
export function StatusLine({ state, message, spinning = false, bad = false }: { state: string; message?: string | null | undefined; spinning?: boolean; bad?: boolean }) {
  return (
    <div class="status-line" aria-live="polite" aria-atomic="true">
      <span class="visually-hidden">State: </span><StateBadge state={state} />
      {spinning ? <span class="spinner" aria-hidden="true" /> : null}
      {message ? <span class={bad ? 'message bad' : 'message'}>{message}</span> : null}
    </div>
  );
}

/** Disable when `enabled`, else Enable (reading `enablingLabel` while it runs, if given). */
export function EnableToggle({ enabled, busy, enabling = false, enablingLabel, onRun }: {
  enabled: boolean; busy: boolean; enabling?: boolean; enablingLabel?: string; onRun(action: 'enable' | 'disable'): void;
}) {
  return enabled
    ? <button type="button" class="button" disabled={busy} onClick={() => onRun('disable')}>Disable</button>
    : <button type="button" class="button" disabled={busy} onClick={() => onRun('enable')}>{enabling && enablingLabel ? enablingLabel : 'Enable'}</button>;
}

/** The "Change" link to `${base}/{id}/edit`. */
export function ChangeLink({ base, id }: { base: string; id: string }) {
  return <Link href={`${base}/${encodeURIComponent(id)}/edit`} class="button">Change</Link>;
}

/** A button that opens a confirmation ("Delete…", "Revoke…"): `danger` draws it red-outlined. */
export function ConfirmButton({ label, disabled, danger = true, onOpen }: { label: string; disabled?: boolean; danger?: boolean; onOpen(): void }) {
  return <button type="button" class={danger ? 'button button-danger-outline' : 'button'} disabled={disabled} onClick={onOpen}>{label}</button>;
}
