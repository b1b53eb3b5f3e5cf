/** SARIF 2.1.0 rendering of a scan, for code-scanning dashboards. */
import type { Rule, ScanResult } from './types';

const SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

function uri(file: string): string {
  return file.split(/[\\/]/).map(encodeURIComponent).join('/');
}

/** Builds a SARIF 2.1.0 log with one run; findings keep their redacted `match` only. */
export function toSarif(result: ScanResult, rules: readonly Rule[]): Record<string, unknown> {
  const used = [...new Set(result.findings.map((f) => f.ruleId))];
  const ruleIndex = new Map(used.map((id, i) => [id, i]));
  const byId = new Map(rules.map((r) => [r.id, r]));
  // An encoded finding's rule id (`github-pat:base64`) is its rule's and the encoding's; its description says both.
  const described = new Map(result.findings.map((f) => [f.ruleId, f.description]));
  return {
    $schema: SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'orchestrator-secret-scanner',
            version: '1.0.0',
            rules: used.map((id) => ({
              id,
              name: id,
              shortDescription: { text: byId.get(id)?.description ?? described.get(id) ?? id },
              defaultConfiguration: { level: 'error' },
            })),
          },
        },
        results: result.findings.map((f) => ({
          ruleId: f.ruleId,
          ruleIndex: ruleIndex.get(f.ruleId),
          level: 'error',
          message: { text: `${f.description}: ${f.match}` },
          locations: [
            { physicalLocation: { artifactLocation: { uri: uri(f.file) }, region: { startLine: f.line, startColumn: f.column } } },
          ],
          partialFingerprints: { 'secretSha256/v1': f.fingerprint },
        })),
        invocations: [
          {
            executionSuccessful: true,
            toolExecutionNotifications: result.skipped.map((s) => ({
              level: 'note',
              message: { text: `skipped: ${s.reason}` },
              locations: [{ physicalLocation: { artifactLocation: { uri: uri(s.file) } } }],
            })),
          },
        ],
      },
    ],
  };
}
