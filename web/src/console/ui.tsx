/**
 * Small accessible building blocks the console's screens share: labelled fields with their errors, the
 * error line, modal dialogs (native `<dialog>`: focus is kept inside and returns when it closes), times.
 */
import type { ComponentChildren, JSX, RefObject } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import { ApiError } from '../shared/http';
import { LANGS, type Lang, type Translate } from '../shared/i18n';
import type { MsgKey } from './i18n';
import { useConsole } from './state';

/** Error codes with a message of the console's own (others show the server's message). */
const KNOWN: Partial<Record<string, MsgKey>> = {
  invalid_credentials: 'error.invalid_credentials',
  account_locked: 'error.account_locked',
  ip_not_allowed: 'error.ip_not_allowed',
  rate_limited: 'error.rate_limited',
  mfa_invalid: 'error.mfa_invalid',
  network_error: 'error.network',
  forbidden: 'error.forbidden',
  not_found: 'error.not_found',
  unauthenticated: 'error.unauthenticated',
  password_expired: 'error.password_expired',
  mfa_enrollment_required: 'error.mfa_enrollment_required',
};

/** A person-readable text for an error. */
export function errorText(t: Translate<MsgKey>, e: unknown): string {
  if (e instanceof ApiError) {
    const key = KNOWN[e.code];
    if (key) {
      const base = t(key, { seconds: e.retryAfter ?? 0 });
      // The server names what was refused; keep its detail beside ours for refusals.
      return e.code === 'forbidden' && e.message ? `${base} (${e.message})` : base;
    }
    return e.message || t('error.unknown');
  }
  return e instanceof Error ? e.message : t('error.unknown');
}

/** An error line, announced as it appears. */
export function ErrorLine({ error, id }: { error: unknown; id?: string }): JSX.Element | null {
  const { t } = useConsole();
  if (error == null) return null;
  return (
    <p class="error" role="alert" id={id}>
      {errorText(t, error)}
    </p>
  );
}

/** A labelled form control with an optional hint and error; `children` gets the id and described-by. */
export function Field(props: {
  label: string;
  hint?: string;
  error?: string | null;
  children: (a: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean }) => ComponentChildren;
}): JSX.Element {
  const id = useId();
  const hintId = props.hint ? `${id}-hint` : undefined;
  const errId = props.error ? `${id}-err` : undefined;
  const describedBy = [hintId, errId].filter(Boolean).join(' ') || undefined;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.children({ id, 'aria-describedby': describedBy, 'aria-invalid': props.error ? true : undefined })}
      {props.hint && (
        <small id={hintId} class="hint">
          {props.hint}
        </small>
      )}
      {props.error && (
        <small id={errId} class="error">
          {props.error}
        </small>
      )}
    </div>
  );
}

/** A checkbox with its label. */
export function Check(props: { label: string; checked: boolean; onChange: (v: boolean) => void; name?: string }): JSX.Element {
  return (
    <label class="check">
      <input type="checkbox" name={props.name} checked={props.checked} onChange={(e) => props.onChange(e.currentTarget.checked)} />
      {props.label}
    </label>
  );
}

/**
 * A modal dialog. Open while mounted; Escape or the close button call `onClose`. The first focusable
 * element inside gets focus; the element focused before gets it back afterwards.
 */
export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }): JSX.Element {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const { t } = useConsole();
  useEffect(() => {
    const d = ref.current;
    const before = document.activeElement as HTMLElement | null;
    if (d && !d.open) {
      if (typeof d.showModal === 'function') d.showModal();
      else d.setAttribute('open', '');
    }
    const first = d?.querySelector<HTMLElement>('[autofocus], input, select, textarea, button:not(.dialog-close)');
    first?.focus();
    return () => {
      if (d?.open) d.close();
      before?.focus?.();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      class={props.wide ? 'dialog wide' : 'dialog'}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <div class="dialog-head">
        <h2 id={titleId}>{props.title}</h2>
        <button type="button" class="dialog-close" aria-label={t('common.close')} onClick={props.onClose}>
          ×
        </button>
      </div>
      {props.children}
    </dialog>
  );
}

/** A time, shown in the reader's language and zone, with the exact value for machines. */
export function Time({ at, relative }: { at: string | null | undefined; relative?: boolean }): JSX.Element {
  const { lang, t } = useConsole();
  if (!at) return <span>{t('common.never')}</span>;
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return <span>{at}</span>;
  const sameDay = new Date().toDateString() === d.toDateString();
  const text =
    relative && sameDay
      ? d.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' })
      : d.toLocaleString(lang, { dateStyle: 'medium', timeStyle: 'short' });
  return <time dateTime={at}>{text}</time>;
}

/** Splits `a, b，c` into trimmed, non-empty, unique parts. */
export function splitList(text: string): string[] {
  const out: string[] = [];
  for (const p of text.split(/[,，\n]/).map((s) => s.trim())) if (p && !out.includes(p)) out.push(p);
  return out;
}

/** Copies text to the clipboard; answers whether it worked. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** The language switch. */
export function LangSelect(): JSX.Element {
  const { t, lang, setLang } = useConsole();
  return (
    <span class="lang">
      <label for="lang">{t('lang.label')}</label>
      <select id="lang" value={lang} onChange={(e) => setLang(e.currentTarget.value as Lang)}>
        {LANGS.map((l) => (
          <option key={l} value={l} lang={l}>
            {l === 'zh-CN' ? '简体中文' : 'English'}
          </option>
        ))}
      </select>
    </span>
  );
}

/**
 * The head of an admin list screen: its title (the `<h1>` that gets focus when the screen changes), the button
 * that adds an entry, and the screen's last error.
 */
export function AdminHead(props: {
  title: string;
  headingRef: RefObject<HTMLHeadingElement>;
  addLabel: string;
  onAdd: () => void;
  addTestId?: string;
  error: unknown;
}): JSX.Element {
  return (
    <>
      <div class="admin-head">
        <h1 ref={props.headingRef} tabIndex={-1}>
          {props.title}
        </h1>
        <button type="button" data-testid={props.addTestId} onClick={props.onAdd}>
          {props.addLabel}
        </button>
      </div>
      <ErrorLine error={props.error} />
    </>
  );
}
