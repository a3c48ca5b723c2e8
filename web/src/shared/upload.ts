// Attachments (API.md: `POST …/attachments`, then a `PUT` of the bytes to `upload_url`): the pieces the widget
// and the console share — which files the settings accept, the upload with progress, and what a pasted
// clipboard holds.

/** A declared upload as the server answers it. */
export interface UploadTicket {
  attachment_id: string;
  upload_url: string;
  upload_headers: Record<string, string>;
  expires_at: string;
}

/** Puts `body` to `url` with `headers`, telling progress as a fraction; rejects on a network or HTTP error. */
export type Uploader = (url: string, headers: Record<string, string>, body: Blob, onProgress: (fraction: number) => void) => Promise<void>;

/** The browser's uploader: `XMLHttpRequest`, the one API that reports upload progress. */
export const xhrUpload: Uploader = (url, headers, body, onProgress) =>
  new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('PUT', url);
    for (const [k, v] of Object.entries(headers)) x.setRequestHeader(k, v);
    x.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    x.onload = () => (x.status >= 200 && x.status < 300 ? resolve() : reject(new Error(`upload refused (${x.status})`)));
    x.onerror = () => reject(new Error('upload failed'));
    x.send(body);
  });

/** Whether `type` is one of `accepted` (`type/subtype` or `type/*`); no list means the server decides. */
export function typeAccepted(accepted: readonly string[] | undefined, type: string): boolean {
  if (!accepted) return true;
  const t = type.toLowerCase();
  return accepted.some((a) => (a.endsWith('/*') ? t.startsWith(a.slice(0, -1)) : a === t));
}

/** Whether a file type is shown inline as a picture. */
export const isImage = (type: string): boolean => /^image\/(png|jpeg|gif|webp)$/.test(type);

/** The files of a paste (a screenshot is one), named when the clipboard gave them no name. */
export function pastedFiles(data: DataTransfer | null): File[] {
  if (!data) return [];
  const out: File[] = [];
  for (const item of Array.from(data.items ?? [])) {
    if (item.kind !== 'file') continue;
    const f = item.getAsFile();
    if (!f) continue;
    const ext = f.type.split('/')[1] ?? 'bin';
    out.push(f.name ? f : new File([f], `pasted.${ext}`, { type: f.type }));
  }
  return out;
}

/** A size for people: 512 B, 3.4 KB, 1.2 MB. */
export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
