/**
 * Test fixture builders for the gate tests: throwaway repositories with real scripts, and a real
 * HTTP server standing in for the coordinator. Not used by production code.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TempRepo {
  dir: string;
  write(relativePath: string, content: string): void;
  exists(relativePath: string): boolean;
  cleanup(): void;
}

/** A temp directory with a package.json holding `scripts` and the given files. */
export function createRepo(options: { scripts?: Record<string, string>; files?: Record<string, string> } = {}): TempRepo {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gates-repo-'));
  const write = (relativePath: string, content: string) => {
    const file = path.join(dir, relativePath);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  };
  if (options.scripts) write('package.json', JSON.stringify({ name: 'fixture', version: '1.0.0', scripts: options.scripts }, null, 2));
  for (const [file, content] of Object.entries(options.files ?? {})) write(file, content);
  return {
    dir,
    write,
    exists: (relativePath) => existsSync(path.join(dir, relativePath)),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Source of a node script that writes an istanbul json-summary with the given percentages. */
export function coverageWriterScript(pct: { lines: number; statements?: number; functions?: number; branches?: number }): string {
  const metric = (value: number) => ({ total: 100, covered: value, skipped: 0, pct: value });
  const summary = {
    total: {
      lines: metric(pct.lines),
      statements: metric(pct.statements ?? pct.lines),
      functions: metric(pct.functions ?? pct.lines),
      branches: metric(pct.branches ?? pct.lines),
    },
  };
  return [
    "const fs = require('node:fs');",
    "fs.mkdirSync('coverage', { recursive: true });",
    `fs.writeFileSync('coverage/coverage-summary.json', ${JSON.stringify(JSON.stringify(summary))});`,
    "console.log('tests passed');",
  ].join('\n');
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface FakeCoordinator {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * A real HTTP server; `respond` decides each answer from the request and its index (0-based).
 * Returning `'hang'` never answers, for timeout tests.
 */
export async function startFakeCoordinator(
  respond: (request: RecordedRequest, index: number) => { status: number; body: string } | 'hang',
): Promise<FakeCoordinator> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        // keep the raw text
      }
      const recorded: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      requests.push(recorded);
      const answer = respond(recorded, requests.length - 1);
      if (answer === 'hang') return;
      res.writeHead(answer.status, { 'Content-Type': 'application/json' });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
