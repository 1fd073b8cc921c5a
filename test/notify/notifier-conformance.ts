/**
 * The conformance suite every notifier (channel kind) runs (STYLE.md habit 4): it delivers once
 * and identifies the event and delivery; a permanent refusal is not retryable, a temporary one
 * is; an unreachable receiver is retryable; an abort stops it; no error carries a credential.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeliveryError } from '../../src/notify/delivery-error.js';
import type { Notifier } from '../../src/notify/notifier.js';
import { renderNotification, type Notification } from '../../src/notify/notification.js';

/** What a notifier kind provides to the suite. */
export interface NotifierUnderTest {
  /** A notifier whose receiver accepts. */
  accepting(): Notifier;
  /** What the receiver got: event type and delivery id of each message. */
  received(): Array<{ eventType: string; deliveryId: string }>;
  /** A notifier whose receiver refuses for good (bad credentials, 4xx). */
  refusing(): Notifier;
  /** Makes the accepting receiver refuse the next message temporarily (SMTP 451, HTTP 503). */
  failNextTemporarily(): void;
  /** A notifier pointed at a port where nothing listens. */
  unreachable(): Notifier;
  /** The receiver does not answer at all. */
  silent(): Notifier;
  /** Credentials the notifiers were given, which no error may contain. */
  secrets: string[];
}

let seq = 0;
function sample(): Notification {
  seq++;
  return renderNotification({
    id: String(1000 + seq), type: 'certificate.expiring', createdAt: '2026-03-01T00:00:00.000Z',
    subject: { type: 'certificate', id: `cert-${seq}` }, message: 'www.example.com expires in 7 days',
    data: { daysLeft: 7, thresholdDays: 7, notAfter: '2026-03-08T00:00:00.000Z', source: 'imported' },
  }, `delivery-${seq}`, 'www.example.com_20260101T000000Z');
}

async function failure(p: Promise<unknown>): Promise<DeliveryError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DeliveryError, `a DeliveryError, got ${(err as Error)?.name}: ${(err as Error)?.message}`);
    return err;
  }
  assert.fail('the send should have failed');
}

/** Registers the suite's tests for one notifier kind. */
export function notifierConformance(kind: string, setup: () => Promise<NotifierUnderTest>): void {
  let t: NotifierUnderTest;
  const now = new Date();
  const signal = () => AbortSignal.timeout(15_000);
  const noSecrets = (e: DeliveryError) => {
    for (const s of t.secrets) assert.ok(!e.message.includes(s), `${kind}: the error carries no credential`);
  };
  test(`${kind}: set up`, async () => {
    t = await setup();
  });
  test(`${kind}: delivers once, identifying the event and the delivery`, async () => {
    const n = sample();
    const before = t.received().length;
    const receipt = await t.accepting().send(n, signal(), now);
    assert.ok(receipt.detail.length > 0);
    const got = t.received().slice(before);
    assert.deepEqual(got, [{ eventType: 'certificate.expiring', deliveryId: n.deliveryId }]);
  });
  test(`${kind}: a permanent refusal is not retryable`, async () => {
    const e = await failure(t.refusing().send(sample(), signal(), now));
    assert.equal(e.retryable, false, e.message);
    noSecrets(e);
  });
  test(`${kind}: a temporary refusal is retryable`, async () => {
    t.failNextTemporarily();
    const e = await failure(t.accepting().send(sample(), signal(), now));
    assert.equal(e.retryable, true, e.message);
    assert.ok(e.status !== undefined && e.status >= 400, `the receiver's code is kept (${e.status})`);
    noSecrets(e);
  });
  test(`${kind}: an unreachable receiver is retryable`, async () => {
    const e = await failure(t.unreachable().send(sample(), signal(), now));
    assert.equal(e.retryable, true, e.message);
    noSecrets(e);
  });
  test(`${kind}: an abort stops a send that gets no answer`, async () => {
    const started = Date.now();
    await assert.rejects(t.silent().send(sample(), AbortSignal.timeout(300), now));
    assert.ok(Date.now() - started < 5_000, 'stopped promptly');
  });
}
