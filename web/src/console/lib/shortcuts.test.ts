import { describe, expect, it } from 'vitest';
import { shortcutFor, step } from './shortcuts';

describe('shortcuts', () => {
  it('maps the inbox keys', () => {
    expect(shortcutFor({ key: 'j' })).toBe('next');
    expect(shortcutFor({ key: 'k' })).toBe('previous');
    expect(shortcutFor({ key: 'r' })).toBe('reply');
    expect(shortcutFor({ key: 'n' })).toBe('note');
    expect(shortcutFor({ key: 'c' })).toBe('close');
    expect(shortcutFor({ key: '?' })).toBe('help');
    expect(shortcutFor({ key: 'x' })).toBeNull();
  });

  it('ignores keys with modifiers, Shift-letters and IME composition', () => {
    expect(shortcutFor({ key: 'r', ctrlKey: true })).toBeNull();
    expect(shortcutFor({ key: 'c', metaKey: true })).toBeNull();
    expect(shortcutFor({ key: 'j', altKey: true })).toBeNull();
    expect(shortcutFor({ key: 'J' })).toBeNull();
    expect(shortcutFor({ key: 'n', isComposing: true })).toBeNull();
  });

  it('leaves typing alone, except Escape', () => {
    expect(shortcutFor({ key: 'j', targetTag: 'TEXTAREA' })).toBeNull();
    expect(shortcutFor({ key: 'c', targetTag: 'input' })).toBeNull();
    expect(shortcutFor({ key: 'r', targetTag: 'DIV', targetEditable: true })).toBeNull();
    expect(shortcutFor({ key: 'Escape', targetTag: 'TEXTAREA' })).toBe('escape');
    expect(shortcutFor({ key: 'j', targetTag: 'BUTTON' })).toBe('next');
  });

  it('steps through a list without wrapping', () => {
    const ids = ['a', 'b', 'c'];
    expect(step(ids, null, 1)).toBe('a');
    expect(step(ids, null, -1)).toBe('c');
    expect(step(ids, 'a', 1)).toBe('b');
    expect(step(ids, 'c', 1)).toBe('c');
    expect(step(ids, 'a', -1)).toBe('a');
    expect(step(ids, 'gone', 1)).toBe('a');
    expect(step([], 'a', 1)).toBeNull();
  });
});
