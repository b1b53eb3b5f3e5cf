import type { ChildProcess } from 'node:child_process';

export declare const INFO_FD: 3;
export declare const BLOCK_FD: 4;
export declare const JOIN_FAILED: 'ECGROUPJOIN';
export declare function joinSandboxCgroup(child: ChildProcess, dir: string, done: (err?: Error) => void): void;
export declare function cgroupStdio(stdin: 'ignore' | 'pipe'): readonly ['ignore' | 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'];
