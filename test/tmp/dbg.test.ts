import { createRemoteRepo, nodeProjectFiles } from '../support/git-fixtures';
import { startHarness, type Harness } from '../support/harness';
describe('dbg', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness(); });
  afterAll(async () => { await h?.close(); });
  it('x', async () => {
    const remote = createRemoteRepo(nodeProjectFiles());
    h.fakeModel.script('T-dbg', [{ tools: [{ name: 'str_replace_based_edit_tool', input: { command: 'create', path: 'hello.txt', file_text: 'hello\n' } }] }, { text: 'Done' }]);
    const handle = await h.spawn({ taskId: 'T-dbg', repository: remote.url, gateProfile: 'minimal', maxFeedbackRounds: 0 });
    const err = await handle.result().catch((e) => e);
    console.log(JSON.stringify((err as any).cause?.details ?? err, null, 1).slice(0, 4000));
  });
});
