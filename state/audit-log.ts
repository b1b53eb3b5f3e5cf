/** Append-only audit trail of kills (who, when, why, outcome) in a capped Valkey stream, one per Temporal namespace (keys.ts). */
import type Redis from 'ioredis';
import { keys } from './keys';

export interface KillAuditRecord {
  agentId: string;
  requestedBy: string;
  reason: string;
  outcome: 'killed' | 'already-finished' | 'forced' | 'failed';
  detail?: string;
  at: string;
}

const MAX_AUDIT_ENTRIES = 100_000;

export async function appendKillAudit(redis: Redis, record: KillAuditRecord, namespace?: string): Promise<string> {
  const fields = Object.entries(record).flatMap(([k, v]) => (v === undefined ? [] : [k, String(v)]));
  const id = await redis.xadd(keys.audit(namespace), 'MAXLEN', '~', String(MAX_AUDIT_ENTRIES), '*', ...fields);
  return id ?? '';
}

export async function readKillAudit(redis: Redis, count = 100, namespace?: string): Promise<KillAuditRecord[]> {
  const entries = await redis.xrevrange(keys.audit(namespace), '+', '-', 'COUNT', count);
  return entries.map(([, fields]) => {
    const obj: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) obj[fields[i]!] = fields[i + 1]!;
    return obj as unknown as KillAuditRecord;
  });
}
