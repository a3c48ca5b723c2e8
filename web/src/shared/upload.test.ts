import { describe, expect, it } from 'vitest';
import { humanSize, isImage, pastedFiles, typeAccepted } from './upload';

describe('attachments helpers', () => {
  it('accepts types exactly or by their major part, and leaves an unknown list to the server', () => {
    expect(typeAccepted(['image/*', 'application/pdf'], 'image/png')).toBe(true);
    expect(typeAccepted(['image/*', 'application/pdf'], 'application/PDF')).toBe(true);
    expect(typeAccepted(['image/*'], 'application/zip')).toBe(false);
    expect(typeAccepted(['image/*'], 'imagex/png')).toBe(false);
    expect(typeAccepted(undefined, 'application/zip')).toBe(true);
  });

  it('shows the four picture types inline and sizes for people', () => {
    expect(isImage('image/png')).toBe(true);
    expect(isImage('image/svg+xml')).toBe(false);
    expect(humanSize(512)).toBe('512 B');
    expect(humanSize(3482)).toBe('3.4 KB');
    expect(humanSize(5 * 1024 * 1024)).toBe('5.0 MB');
  });

  it('takes the files of a paste and names an unnamed screenshot', () => {
    const shot = new File([new Uint8Array([137, 80, 78, 71])], '', { type: 'image/png' });
    const data = {
      items: [
        { kind: 'string', getAsFile: () => null },
        { kind: 'file', getAsFile: () => shot },
      ],
    } as unknown as DataTransfer;
    const files = pastedFiles(data);
    expect(files.map((f) => [f.name, f.type, f.size])).toEqual([['pasted.png', 'image/png', 4]]);
    expect(pastedFiles(null)).toEqual([]);
  });
});
