// The widget's settings as `GET /v1/widget/config` answers them (API.md, Widget), and the message shape the
// widget reads. Answers are normalized here, so the view can rely on every field being there.
import type { MessageView } from '../../api/types';
import type { Lang } from '../../shared/i18n';

/** One pre-chat form field (API.md: `/v1/settings/widget`'s `pre_chat_form.fields`). */
export interface PreChatField {
  name: string;
  label: string;
  type: 'text' | 'email' | 'phone' | 'select';
  required: boolean;
  options?: string[];
}

/** A group the visitor may choose. */
export interface GroupChoice {
  id: string;
  name: string;
}

/** The widget's configuration, normalized. */
export interface WidgetConfig {
  title: string;
  color: string;
  greeting: string;
  language: Lang | 'auto';
  pre_chat_form: { enabled: boolean; fields: PreChatField[] };
  groups: GroupChoice[];
  online: boolean;
  offline_mode: 'leave_message' | 'queue';
  typing_preview: boolean;
  attachments: { enabled: boolean; max_bytes?: number; content_types?: string[] };
}

/** A message as the widget reads it (`GET /v1/widget/messages`, `message.created` frames). */
export type WidgetMessage = MessageView;

const str = (v: unknown, fallback: string): string => (typeof v === 'string' ? v : fallback);
const FIELD_TYPES = ['text', 'email', 'phone', 'select'] as const;

/** `#rrggbb` from `#rrggbb` or `#rgb` (the settings accept both); undefined for anything else. */
export function hexColor(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  if (/^#[0-9a-f]{6}$/i.test(v)) return v.toLowerCase();
  if (/^#[0-9a-f]{3}$/i.test(v)) return `#${[...v.slice(1)].map((d) => d + d).join('')}`.toLowerCase();
  return undefined;
}

/** Fills gaps and drops malformed parts, so an older or newer server never breaks the widget. */
export function normalizeConfig(raw: unknown): WidgetConfig {
  const c = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const form = (typeof c.pre_chat_form === 'object' && c.pre_chat_form !== null ? c.pre_chat_form : {}) as Record<string, unknown>;
  const fields: PreChatField[] = [];
  for (const f of Array.isArray(form.fields) ? (form.fields as unknown[]) : []) {
    if (typeof f !== 'object' || f === null) continue;
    const o = f as Record<string, unknown>;
    if (typeof o.name !== 'string' || o.name === '') continue;
    const type = FIELD_TYPES.find((t) => t === o.type) ?? 'text';
    const options = Array.isArray(o.options) ? o.options.filter((x): x is string => typeof x === 'string') : undefined;
    fields.push({ name: o.name, label: str(o.label, o.name), type, required: o.required === true, ...(options ? { options } : {}) });
  }
  const groups: GroupChoice[] = [];
  for (const g of Array.isArray(c.groups) ? (c.groups as unknown[]) : []) {
    const o = (typeof g === 'object' && g !== null ? g : {}) as Record<string, unknown>;
    if (typeof o.id === 'string' && o.id) groups.push({ id: o.id, name: str(o.name, o.id) });
  }
  const lang = c.language === 'zh-CN' || c.language === 'en' ? c.language : 'auto';
  const att = (typeof c.attachments === 'object' && c.attachments !== null ? c.attachments : {}) as Record<string, unknown>;
  return {
    title: str(c.title, ''),
    color: hexColor(c.color) ?? '#1d4ed8',
    greeting: str(c.greeting, ''),
    language: lang,
    pre_chat_form: { enabled: form.enabled === true && fields.length > 0, fields },
    groups,
    online: c.online !== false,
    offline_mode: c.offline_mode === 'queue' ? 'queue' : 'leave_message',
    typing_preview: c.typing_preview === true,
    attachments: {
      enabled: att.enabled === true,
      ...(typeof att.max_bytes === 'number' ? { max_bytes: att.max_bytes } : {}),
      ...(Array.isArray(att.content_types) ? { content_types: att.content_types.filter((x): x is string => typeof x === 'string') } : {}),
    },
  };
}

/** Relative luminance of a #rrggbb colour (WCAG 2). */
function luminance(hex: string): number {
  const ch = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
  const [r, g, b] = ch.map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** Black or white, whichever reads better on `hex` (the tenant's colour must not make the text unreadable). */
export function readableOn(hex: string): '#000000' | '#ffffff' {
  const l = luminance(hex);
  const contrastWhite = 1.05 / (l + 0.05);
  const contrastBlack = (l + 0.05) / 0.05;
  return contrastWhite >= contrastBlack ? '#ffffff' : '#000000';
}
