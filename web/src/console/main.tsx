/** The console's entry: renders the app into `#app` of `index.html`. */
import { render } from 'preact';
import { App } from './app';
import './console.css';

const root = document.getElementById('app');
if (root) render(<App />, root);
