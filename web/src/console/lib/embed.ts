/** The embed snippet a tenant pastes into its pages (API.md, Web: Embedding). */

/** The snippet for the console's origin and a widget key (characters a key never has are dropped). */
export function embedSnippet(origin: string, widgetKey: string): string {
  const key = widgetKey.replace(/[^A-Za-z0-9_-]/g, '');
  return `<script src="${origin.replace(/\/+$/, '')}/widget/kefu.js" data-widget-key="${key}" async></script>`;
}
