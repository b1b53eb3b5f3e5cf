import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { claimWorkspaceRoot, DEPLOYMENT_FILE } from './workspace-owner';

describe('claimWorkspaceRoot', () => {
  it('records the first namespace, accepts its workers again, and refuses another namespace naming both', () => {
    const root = path.join(mkdtempSync(path.join(os.tmpdir(), 'owner-')), 'root');
    claimWorkspaceRoot(root, 'team-a');
    claimWorkspaceRoot(root, 'team-a');
    expect(JSON.parse(readFileSync(path.join(root, DEPLOYMENT_FILE), 'utf8'))).toEqual({ namespace: 'team-a' });
    expect(() => claimWorkspaceRoot(root, 'team-b')).toThrow(/belongs to the deployment of Temporal namespace "team-a" .* not "team-b".*a WORKSPACE_ROOT of its own/);
  });

  it('refuses a record that names no namespace rather than guessing', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'owner-'));
    writeFileSync(path.join(root, DEPLOYMENT_FILE), 'not json');
    expect(() => claimWorkspaceRoot(root, 'default')).toThrow(/does not name a Temporal namespace/);
  });
});
