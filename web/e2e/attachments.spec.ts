// Attachments as a new user tries them (issue 15): the agent pastes a picture into the console's composer and it
// shows in the widget, inline; the visitor attaches a PDF through the widget's button and the agent gets it as a
// download link. The bytes go through the signed local upload link of `kefu serve`, cross-origin from the widget.
import { signIn } from './console-helpers';
import { expect, test } from './fixtures';
import { configureWidget, widget } from './widget-helpers';

/** A real 1×1 PNG, so the browser can draw it. */
const PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

test('a picture pasted by the agent shows in the widget, and a visitor’s file reaches the agent', async ({ browser, page, env, newTenant, staff, hostPageUrl }) => {
  const tenant = await newTenant('Acme Files');
  const admin = await staff(tenant);
  await configureWidget(admin, {
    pre_chat_form: { enabled: false, fields: [] },
    attachments: { enabled: true, max_bytes: 1024 * 1024, content_types: ['image/*', 'application/pdf'] },
  });

  await signIn(page, env, tenant, tenant.admin_email, tenant.admin_password);
  await page.getByLabel('My status').selectOption('online');
  await expect.poll(async () => (await admin.call<{ status: string }>('GET', '/v1/me')).status).toBe('online');

  const visitorContext = await browser.newContext();
  const visitor = await visitorContext.newPage();
  await visitor.goto(hostPageUrl(tenant));
  const w = widget(visitor);
  await w.launcher.click();
  await w.input.fill('Can you show me the product?');
  await w.input.press('Enter');
  await expect(w.byAuthor('visitor')).toHaveText(/show me the product/);

  await page.getByTestId('conversation-item').first().click();
  await expect(page.locator('[data-testid="message"][data-author="visitor"]')).toHaveCount(1);

  // The agent pastes a screenshot into the composer.
  await page.getByTestId('composer').focus();
  await page.evaluate((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], 'product.png', { type: 'image/png' }));
    const target = document.querySelector('[data-testid="composer"]');
    target?.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, PNG_BASE64);
  await expect(page.locator('[data-testid="message"][data-author="agent"] [data-testid="attachment-image"]')).toHaveCount(1);

  // The visitor sees the picture inline, drawn (its link works cross-origin).
  const picture = visitor.getByTestId('kefu-attachment-image');
  await expect(picture).toHaveCount(1);
  await expect(picture).toHaveAttribute('alt', 'product.png');
  await expect.poll(() => picture.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(1);

  // The visitor attaches a PDF with the widget's button: the agent gets a download link.
  await visitor.getByTestId('kefu-file-input').setInputFiles({
    name: 'receipt.pdf',
    mimeType: 'application/pdf',
    buffer: Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n'),
  });
  await expect(w.byAuthor('visitor').last().getByTestId('kefu-attachment-link')).toContainText('receipt.pdf');
  const link = page.locator('[data-testid="message"][data-author="visitor"] [data-testid="attachment-link"]');
  await expect(link).toContainText('receipt.pdf');
  const href = await link.getAttribute('href');
  const res = await page.request.get(href ?? '');
  expect(res.status()).toBe(200);
  expect((await res.body()).subarray(0, 5).toString()).toBe('%PDF-');
  await visitorContext.close();
});
