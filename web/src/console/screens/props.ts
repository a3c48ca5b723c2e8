/** The props every screen takes (apart from the screen table, so that the screens and the table do not import each other). */
import type { RefObject } from 'preact';

/** What a screen is given. */
export interface ScreenProps {
  params: Record<string, string>;
  query: URLSearchParams;
  /** The screen's `<h1>`: it gets focus when the screen changes. */
  headingRef: RefObject<HTMLHeadingElement>;
}
