// Keyboard helpers shared by the views' shortcut handlers.

/** True when a key event goes to a text field, a select or editable content: single-key shortcuts stay out of it. */
export function isTyping(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  return !!t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
}
