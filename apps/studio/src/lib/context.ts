import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Client, Project } from './types.js';

export interface Session {
  client: Client;
  /** For the SDK's standalone project event stream. */
  apiKey: string;
  project: Project;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in Studio');
  return s;
}
