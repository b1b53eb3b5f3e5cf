/**
 * A throwaway redis-server a test can stop and start again on the same port. With `persistDir`
 * it keeps its data as the shipped configurations do (append-only file, fsync every second), so
 * a restart (or a crash) shows what survives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accepts, freePort } from '../support/ports';

export class OwnRedisServer {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly persistDir?: string,
  ) {}

  static async start(options: { persistDir?: string } = {}): Promise<OwnRedisServer> {
    const server = new OwnRedisServer(await freePort(), options.persistDir);
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    const persistence = this.persistDir ? ['--dir', this.persistDir, '--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no'];
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence], { stdio: 'ignore' });
    this.child = child;
    const deadline = Date.now() + 5000;
    while (!(await accepts(this.port))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`redis-server did not start on port ${this.port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL: a crash, nothing flushed beyond what the fsync policy already wrote. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}
