/**
 * The pending validations of an auto certificate with a manual challenge (manual-dns-01,
 * manual-http-01) waiting in AWAITING_VALIDATION: what to publish, each value with a copy
 * button (GET …/validations), and Verify (POST …/verify), which first checks that the records
 * are visible and otherwise lists what is still missing (409 records_not_visible); "force" lets
 * the CA try anyway.
 */
import { useState } from 'preact/hooks';
import { api, ApiError, errorText, type FieldError } from '../api';
import type { Collection } from '../resources';
import { useApi } from '../use-api';
import { ErrorMessage, Notice } from './alert';
import { CopyValue } from './copy-button';
import { Loading } from './loading';

/** One challenge as GET …/validations lists it. */
export interface Validation {
  identifier: string;
  type: string;
  status: string;
  recordName?: string;
  recordType?: string;
  recordValue?: string;
  httpPath?: string;
  httpBody?: string;
  instructions?: string;
}

/** The section; `onVerified` reloads the auto certificate. */
export function PendingValidations({ id, mayVerify, onVerified }: { id: string; mayVerify: boolean; onVerified(): void }) {
  const path = `auto-certificates/${encodeURIComponent(id)}/validations`;
  const { data, error } = useApi<Collection<Validation>>(path, 10_000);
  const [force, setForce] = useState(false);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ error: string; missing: FieldError[] } | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const items = (data?.items ?? []).filter((v) => v.status === 'pending');

  const verify = async () => {
    setBusy(true);
    setResult(null);
    setDone(null);
    try {
      await api('POST', `auto-certificates/${encodeURIComponent(id)}/verify`, force ? { force: true } : {});
      setDone(force ? 'Sent to the CA without checking (forced); the page follows the validation.' : 'The records are visible; the CA validates them now.');
      onVerified();
    } catch (err) {
      setResult({ error: errorText(err), missing: err instanceof ApiError && err.problem?.code === 'records_not_visible' ? err.problem.errors ?? [] : [] });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel panel-wide" aria-labelledby="validations-heading">
      <h2 id="validations-heading">Pending validations</h2>
      <ErrorMessage>{error}</ErrorMessage>
      {!data ? <Loading /> : items.length === 0 ? <p class="muted">Nothing to publish right now.</p> : (
        <ul class="validations">
          {items.map((v) => (
            <li key={`${v.identifier}|${v.type}`} data-identifier={v.identifier}>
              <p><strong>{v.identifier}</strong> <span class="muted">({v.type})</span></p>
              <dl class="facts">
                {v.recordName !== undefined ? (
                  <>
                    <dt>Record name</dt><dd><CopyValue value={v.recordName} label={`Copy record name for ${v.identifier}`} /></dd>
                    <dt>Record type</dt><dd>{v.recordType ?? 'TXT'}</dd>
                    <dt>Record value</dt><dd><CopyValue value={v.recordValue ?? ''} label={`Copy record value for ${v.identifier}`} /></dd>
                  </>
                ) : null}
                {v.httpPath !== undefined ? (
                  <>
                    <dt>URL</dt><dd><CopyValue value={`http://${v.identifier}${v.httpPath}`} label={`Copy URL for ${v.identifier}`} /></dd>
                    <dt>Body</dt><dd><CopyValue value={v.httpBody ?? ''} label={`Copy body for ${v.identifier}`} /></dd>
                  </>
                ) : null}
              </dl>
              {v.instructions ? <p class="help">{v.instructions}</p> : null}
            </li>
          ))}
        </ul>
      )}
      {mayVerify ? (
        <>
          <div class="actions">
            <button type="button" class="button button-primary" disabled={busy || items.length === 0} onClick={() => void verify()}>{busy ? 'Checking…' : 'Verify'}</button>
            <label class="inline">
              <input type="checkbox" checked={force} onChange={(e) => setForce((e.target as HTMLInputElement).checked)} />
              <span>Force: skip certkeeper's own check and let the CA try now</span>
            </label>
          </div>
          <Notice tone="success">{done}</Notice>
          {result ? (
            <div class="alert alert-error" role="alert" data-testid="verify-result">
              <p>{result.error}</p>
              {result.missing.length ? <ul class="missing-records">{result.missing.map((m) => <li key={m.field}><strong>{m.field}</strong>: {m.message}</li>)}</ul> : null}
            </div>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
