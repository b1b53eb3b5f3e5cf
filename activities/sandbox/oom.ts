/** Whether the kernel's OOM killer struck inside a container since a given moment. */
import type Docker from 'dockerode';

/**
 * `State.OOMKilled` is only set when the container's main process dies, so for a command run
 * through exec the engine's `oom` event is the evidence; both are checked.
 */
export async function oomKilledSince(docker: Docker, containerId: string, sinceMs: number): Promise<boolean> {
  try {
    const info = await docker.getContainer(containerId).inspect();
    if (info.State.OOMKilled) return true;
  } catch {
    // gone: the events below still tell
  }
  try {
    const events = await docker.getEvents({
      since: sinceMs / 1000,
      until: Date.now() / 1000,
      filters: { container: [containerId], event: ['oom'] },
    });
    // With `until` in the past the engine sends what it has and closes the stream.
    let seen = false;
    for await (const chunk of events as AsyncIterable<Buffer | string>) {
      if (String(chunk).includes('"oom"')) seen = true;
    }
    return seen;
  } catch {
    return false;
  }
}
