/** The live board (`stats.view`): conversations waiting by priority, the longest wait, and each agent's presence,
 * load and idle time, read from `GET /v1/live` every five seconds while the screen is open. */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { duration, load, queuedTotal } from '../lib/live';
import { useConsole } from '../state';
import type { LiveBoard } from '../types';
import { ErrorLine } from '../ui';
import type { ScreenProps } from './props';

/** How often the board is read again. */
const REFRESH_MS = 5000;

/** `#/live`. */
export function Live({ headingRef }: ScreenProps): JSX.Element {
  const { t, client } = useConsole();
  const [board, setBoard] = useState<LiveBoard | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let stopped = false;
    const read = () =>
      client
        .get<LiveBoard>('/v1/live')
        .then((b) => {
          if (!stopped) {
            setBoard(b);
            setError(null);
          }
        })
        .catch((e: unknown) => {
          if (!stopped) setError(e);
        });
    void read();
    const timer = setInterval(() => void read(), REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [client]);
  return (
    <div class="admin">
      <h1 ref={headingRef} tabIndex={-1}>
        {t('nav.live')}
      </h1>
      <ErrorLine error={error} />
      {board === null ? (
        <p role="status">{t('common.loading')}</p>
      ) : (
        <>
          <dl class="card" data-testid="live-queue">
            <dt>{t('live.queued')}</dt>
            <dd>{queuedTotal(board.queued)}</dd>
            <dt>{t('live.high')}</dt>
            <dd>{board.queued.high}</dd>
            <dt>{t('live.normal')}</dt>
            <dd>{board.queued.normal}</dd>
            <dt>{t('live.low')}</dt>
            <dd>{board.queued.low}</dd>
            <dt>{t('live.longestWait')}</dt>
            <dd>{duration(board.longest_wait_seconds)}</dd>
          </dl>
          <table class="table" data-testid="live-agents">
            <thead>
              <tr>
                <th scope="col">{t('live.agent')}</th>
                <th scope="col">{t('live.status')}</th>
                <th scope="col">{t('live.load')}</th>
                <th scope="col">{t('live.idle')}</th>
              </tr>
            </thead>
            <tbody>
              {board.agents.map((a) => {
                const l = load(a.active, a.max_concurrent);
                return (
                  <tr key={a.agent_id} data-testid="live-agent">
                    <th scope="row">{a.name || a.agent_id}</th>
                    <td>{a.status}</td>
                    <td class={l.full ? 'full' : undefined}>{l.text}</td>
                    <td>{duration(a.idle_seconds)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
