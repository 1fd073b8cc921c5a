/** A resource's state as a labelled badge: the word is always there, the colour only adds to it. */

const TONE: Record<string, string> = {
  AVAILABLE: 'ok', ACTIVE: 'ok',
  PROVISIONING: 'busy', AWAITING_VALIDATION: 'attention',
  FAILED: 'bad', EXPIRED: 'bad', REVOKED: 'bad',
  PAUSED: 'muted', SUPERSEDED: 'muted', DISABLED: 'muted',
  INVITED: 'attention', LOCKED: 'bad',
  DELIVERED: 'ok', SENDING: 'busy', PENDING: 'attention', CANCELLED: 'muted',
  DEPLOYED: 'ok', ONLINE: 'ok', OFFLINE: 'attention',
};

/** `AWAITING_VALIDATION` → `awaiting validation`. */
export function stateLabel(state: string): string {
  return state.toLowerCase().replace(/_/g, ' ');
}

/** The badge. */
export function StateBadge({ state }: { state: string }) {
  return <span class={`badge badge-${TONE[state] ?? 'muted'}`} data-state={state}>{stateLabel(state)}</span>;
}
