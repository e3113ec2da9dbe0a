// The API key lives in sessionStorage only: gone when the tab closes, never in localStorage or a cookie.
const KEY = 'banatie.studio.apiKey';

export const session = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (apiKey: string): void => sessionStorage.setItem(KEY, apiKey),
  clear: (): void => sessionStorage.removeItem(KEY),
};
