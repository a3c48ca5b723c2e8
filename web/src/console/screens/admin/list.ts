/**
 * The state every admin list screen keeps: the list (read whole with `readAll`, null while loading), the last
 * error, and `act`, which runs a change, says what it did to screen readers and reads the list again, or keeps
 * the error to show.
 */
import { useEffect, useState } from 'preact/hooks';
import { useConsole } from '../../state';
import { readAll } from '../directory';

/** What `useAdminList` gives a screen. */
export interface AdminList<T> {
  items: T[] | null;
  error: unknown;
  setError: (e: unknown) => void;
  /** Reads the list again. */
  load: () => Promise<void>;
  /** Runs `change`; on success announces `done` (when given) and reloads the list, on failure keeps the error. */
  act: (change: () => Promise<unknown>, done?: string) => Promise<void>;
}

/** The list at `path` (e.g. `/v1/groups`), read when the screen opens. */
export function useAdminList<T>(path: string): AdminList<T> {
  const { client, announce } = useConsole();
  const [items, setItems] = useState<T[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = async () => {
    try {
      setItems(await readAll<T>(client, path));
    } catch (e) {
      setError(e);
    }
  };
  const act = async (change: () => Promise<unknown>, done?: string) => {
    setError(null);
    try {
      await change();
      if (done) announce(done);
      await load();
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    void load();
  }, [path]);
  return { items, error, setError, load, act };
}
