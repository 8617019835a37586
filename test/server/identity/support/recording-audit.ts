// An audit sink that keeps events in memory, for asserting what identity appended.
import type { AuditEvent } from '../../../../server/audit/audit-event.js';

export class RecordingAudit {
  readonly events: AuditEvent[] = [];
  async append(event: AuditEvent): Promise<void> {
    this.events.push(event);
  }
  actions(): string[] {
    return this.events.map((e) => e.action);
  }
}
