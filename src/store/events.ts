/** The append-only event log: audit trail, and later the feed of notifications and metrics. */
import type { Db } from './database.js';
import type { EventsTable } from './schema.js';
import { iso, type Clock } from './time.js';
import { page, type Page } from './pagination.js';
import type { EventType } from '../lifecycle/event-types.js';
import { currentRequest } from '../request-context.js';

/** An event as stored. */
export type EventRow = Omit<EventsTable, 'id'> & { id: number };

/** What to append. */
export interface NewEvent {
  tenantId: string;
  type: EventType;
  subjectType: string;
  subjectId: string | null;
  actor: string;
  message: string;
  data?: Record<string, unknown>;
}

/** Appends and reads events. There is no update and no delete. */
export class EventLog {
  constructor(private readonly db: Db, private readonly clock: Clock) {}

  /** Appends one event. */
  async append(e: NewEvent): Promise<void> {
    await this.db.kysely.insertInto('events').values({
      tenant_id: e.tenantId,
      type: e.type,
      subject_type: e.subjectType,
      subject_id: e.subjectId,
      actor: e.actor,
      message: e.message,
      data_json: JSON.stringify(e.data ?? {}),
      created_at: iso(this.clock()),
      source: currentRequest()?.address ?? null,
    }).execute();
  }

  /** Lists events, newest first. */
  async list(tenantId: string, filter: { type?: string; subjectId?: string; subjectType?: string; actor?: string }, offset: number, limit: number): Promise<Page<EventRow>> {
    let q = this.db.kysely.selectFrom('events').selectAll().where('tenant_id', '=', tenantId);
    if (filter.type) q = q.where('type', '=', filter.type);
    if (filter.subjectId) q = q.where('subject_id', '=', filter.subjectId);
    if (filter.subjectType) q = q.where('subject_type', '=', filter.subjectType);
    if (filter.actor) q = q.where('actor', '=', filter.actor);
    return page(q.orderBy('id', 'desc'), offset, limit) as Promise<Page<EventRow>>;
  }
}
