/**
 * Host paths the bubblewrap sandbox mounts read-only into every agent's sandbox, at the same
 * place, whatever SANDBOX_READONLY_PATHS says: the configuration refuses to keep what agents
 * must not read (the git key, the worktrees) below them.
 */
export const BUBBLEWRAP_USR = '/usr';
export const BUBBLEWRAP_SYSTEM_FILES = ['/etc/alternatives', '/etc/ld.so.cache', '/etc/localtime', '/etc/ssl/certs', '/etc/ca-certificates'] as const;
