import { describe, expect, it } from 'vitest';
import { embedSnippet } from './embed';

describe('embed snippet', () => {
  it('is the snippet of API.md', () => {
    expect(embedSnippet('https://kefu.example', 'wk_abc-DEF_1')).toBe(
      '<script src="https://kefu.example/widget/kefu.js" data-widget-key="wk_abc-DEF_1" async></script>',
    );
  });

  it('cannot be broken out of by a pasted key', () => {
    expect(embedSnippet('http://127.0.0.1:8080/', 'wk_x"><script>alert(1)</script>')).toBe(
      '<script src="http://127.0.0.1:8080/widget/kefu.js" data-widget-key="wk_xscriptalert1script" async></script>',
    );
  });
});
