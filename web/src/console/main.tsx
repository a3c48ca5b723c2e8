// The console's entry (served at `/`). The console helper replaces this file with the real application; until
// then it renders the product name so the build, the server's SPA fallback and the test harness have a page.
import { render } from 'preact';

function Console() {
  return (
    <main>
      <h1>Kefu</h1>
    </main>
  );
}

const root = document.getElementById('app');
if (root) render(<Console />, root);
