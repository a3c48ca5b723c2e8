/**
 * Names for the ids the console shows (agents, agent groups), read once per screen when the account may read
 * them (`agents.manage`); without that permission ids stay ids, and the account's own groups are still known.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Client } from '../../shared/http';
import type { PermissionSet } from '../lib/permissions';
import type { AgentAdminView, GroupView, Page } from '../types';

/** Agents and groups by id. */
export interface Directory {
  agents: Map<string, AgentAdminView>;
  groups: Map<string, GroupView>;
  /** Whether the lists could be read (else only ids are known). */
  complete: boolean;
  /** The signed-in account, whose name is known either way. */
  me?: { id: string; name: string } | null;
}

/** Reads every page of a list. */
export async function readAll<T>(client: Client, path: string, max = 20): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < max; i++) {
    const page: Page<T> = await client.get<Page<T>>(path, { query: { limit: 200, cursor: cursor ?? undefined } });
    out.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return out;
}

/** The directory, loaded when the account may read it; `reload` reads it again. */
export function useDirectory(client: Client, perms: PermissionSet, me?: { id: string; name: string } | null): [Directory, () => void] {
  const [dir, setDir] = useState<Directory>({ agents: new Map(), groups: new Map(), complete: false });
  const [n, setN] = useState(0);
  const may = perms.has('agents.manage');
  useEffect(() => {
    if (!may) return;
    let live = true;
    Promise.all([readAll<AgentAdminView>(client, '/v1/agents'), readAll<GroupView>(client, '/v1/groups')])
      .then(([agents, groups]) => {
        if (live) setDir({ agents: new Map(agents.map((a) => [a.id, a])), groups: new Map(groups.map((g) => [g.id, g])), complete: true });
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [client, may, n]);
  return [{ ...dir, me }, () => setN((x) => x + 1)];
}

/** An agent's name, or its id. */
export function agentName(dir: Directory, id: string | null | undefined): string {
  if (!id) return '';
  if (dir.me && dir.me.id === id) return dir.me.name;
  return dir.agents.get(id)?.name ?? id;
}

/** A group's name, or its id. */
export function groupName(dir: Directory, id: string | null | undefined): string {
  if (!id) return '';
  return dir.groups.get(id)?.name ?? id;
}
