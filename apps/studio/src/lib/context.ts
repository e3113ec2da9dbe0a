import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Client, Project } from './types.js';

export interface Session {
  client: Client;
  /** For the SDK's standalone project event stream. */
  apiKey: string;
  project: Project;
  /** An admin key sees the project's secrets; a standard key does not (SPEC §16), which is how the Studio tells them apart. */
  isAdmin: boolean;
  /** After the project changed here (settings saved, a secret rotated). */
  setProject(project: Project): void;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in Studio');
  return s;
}
