/**
 * Getting an agent's attention: a short beep made with WebAudio (no sound file to download) and a desktop
 * notification through the Notification API. Browsers allow both only after a user gesture, so
 * `enableAlerts` is called from a click; until then alerts stay silent.
 */

let audio: AudioContext | null = null;

/** Whether the browser can show desktop notifications at all. */
export function notificationsSupported(): boolean {
  return typeof window !== 'undefined' && 'Notification' in window;
}

/** The desktop notification permission now (`unsupported` when the browser has none). */
export function notificationPermission(): NotificationPermission | 'unsupported' {
  return notificationsSupported() ? Notification.permission : 'unsupported';
}

/**
 * Unlocks sound and asks for notification permission; call it from a click or key press. Answers the
 * permission the browser ended with.
 */
export async function enableAlerts(): Promise<NotificationPermission | 'unsupported'> {
  const Ctx = (window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext);
  if (Ctx && !audio) {
    try {
      audio = new Ctx();
    } catch {
      audio = null;
    }
  }
  if (audio?.state === 'suspended') await audio.resume().catch(() => undefined);
  if (!notificationsSupported()) return 'unsupported';
  if (Notification.permission === 'default') return Notification.requestPermission();
  return Notification.permission;
}

/** Plays a short two-tone beep, if sound was unlocked. */
export function beep(): void {
  if (!audio || audio.state !== 'running') return;
  const now = audio.currentTime;
  const gain = audio.createGain();
  gain.connect(audio.destination);
  gain.gain.setValueAtTime(0.0001, now);
  gain.gain.exponentialRampToValueAtTime(0.2, now + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.35);
  for (const [freq, at] of [
    [880, 0],
    [1320, 0.12],
  ] as const) {
    const osc = audio.createOscillator();
    osc.type = 'sine';
    osc.frequency.setValueAtTime(freq, now + at);
    osc.connect(gain);
    osc.start(now + at);
    osc.stop(now + at + 0.18);
  }
}

/**
 * Shows a desktop notification when the page is hidden or unfocused (a visible console already shows the
 * change); clicking it focuses the console and runs `onClick`.
 */
export function desktopNotify(title: string, body: string, tag: string, onClick?: () => void): void {
  if (!notificationsSupported() || Notification.permission !== 'granted') return;
  if (document.visibilityState === 'visible' && document.hasFocus()) return;
  try {
    const n = new Notification(title, { body, tag });
    n.onclick = () => {
      window.focus();
      onClick?.();
      n.close();
    };
  } catch {
    // Some browsers only allow notifications from a service worker; the sound still plays.
  }
}
