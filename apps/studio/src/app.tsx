import { Banatie } from '@banatie/sdk';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Announcer, Loading } from './components/ui.js';
import { SessionContext, useSession, type Session } from './lib/context.js';
import { describeError, isUnauthorized } from './lib/errors.js';
import { useRoute, type Route } from './lib/route.js';
import { session } from './lib/session.js';
import type { Client, Project } from './lib/types.js';
import { BatchesView } from './views/batches.js';
import { FlowsView } from './views/flows.js';
import { GenerationDetailView } from './views/generation-detail.js';
import { GenerationsView } from './views/generations.js';
import { ImageDetailView } from './views/image-detail.js';
import { ImagesView } from './views/images.js';
import { LiveView } from './views/live.js';
import { NewGenerationView } from './views/new-generation.js';
import { ProjectView } from './views/project.js';
import { SignIn } from './views/sign-in.js';
import { UsageView } from './views/usage.js';

const NAV = [
  { path: 'generations', label: 'Generations' },
  { path: 'new', label: 'New generation' },
  { path: 'batches', label: 'Batches' },
  { path: 'flows', label: 'Flows' },
  { path: 'images', label: 'Images' },
  { path: 'live', label: 'Live URLs' },
  { path: 'usage', label: 'Usage' },
  { path: 'project', label: 'Project' },
];

/** Called when the API refuses the key mid-session (revoked or expired): back to sign-in. */
let onKeyRefused: () => void = () => undefined;

export function makeClient(apiKey: string): Client {
  return new Banatie({
    apiKey,
    baseUrl: location.origin,
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      if (res.status === 401) onKeyRefused();
      return res;
    },
  });
}

/** Checks a key by reading the project (401 → not accepted). */
async function signInWith(apiKey: string): Promise<{ client: Client; apiKey: string; project: Project }> {
  const client = makeClient(apiKey);
  return { client, apiKey, project: await client.project.get() };
}

export function App() {
  const [state, setState] = useState<{ client: Client; apiKey: string; project: Project } | null>(null);
  const [restoring, setRestoring] = useState(() => session.get() !== null);
  const [restoreError, setRestoreError] = useState<string | null>(null);

  useEffect(() => {
    const saved = session.get();
    if (!saved) return;
    signInWith(saved).then(
      (s) => {
        setState(s);
        setRestoring(false);
      },
      (err) => {
        if (isUnauthorized(err)) session.clear();
        setRestoreError(describeError(err));
        setRestoring(false);
      },
    );
  }, []);

  const value = useMemo<Session | null>(
    () =>
      state && {
        ...state,
        isAdmin: state.project.webhookSecret !== undefined,
        setProject: (project: Project) => setState((s) => s && { ...s, project }),
        signOut: () => {
          session.clear();
          setState(null);
        },
      },
    [state],
  );

  // A signed-in session whose key stops working goes back to the sign-in screen with the reason.
  onKeyRefused = () => {
    if (!state) return;
    session.clear();
    setState(null);
    setRestoreError('This API key was not accepted (it may have been revoked or expired)');
  };

  if (restoring) return <Loading what="Signing in" />;
  if (!value) {
    return (
      <>
        <SignIn
          initialError={restoreError}
          onSignIn={async (apiKey) => {
            const s = await signInWith(apiKey);
            session.set(apiKey);
            setState(s);
          }}
        />
        <Announcer />
      </>
    );
  }
  return (
    <SessionContext.Provider value={value}>
      <Shell />
    </SessionContext.Provider>
  );
}

function Shell() {
  const route = useRoute();
  const mainRef = useRef<HTMLElement>(null);
  const section = route.path[0] ?? 'generations';
  const first = useRef(true);
  // Move focus to the new view (screen readers and keyboards start there), not on first load.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    mainRef.current?.focus();
  }, [route.path.join('/')]);
  const s = useSession();
  return (
        <>
          <a class="skip-link" href="#main" onClick={(e) => (e.preventDefault(), mainRef.current?.focus())}>
            Skip to content
          </a>
          <header class="topbar">
            <div class="brand">
              <strong>Banatie Studio</strong>
              <span class="muted" data-testid="project-name">
                {s.project.orgSlug}/{s.project.slug}
              </span>
              <span class="badge" data-testid="key-role" title={s.isAdmin ? 'This key can do everything' : 'This key cannot see the secrets, change settings or manage live scopes'}>
                {s.isAdmin ? 'admin key' : 'standard key'}
              </span>
            </div>
            <nav aria-label="Studio">
              <ul>
                {NAV.map((n) => (
                  <li key={n.path}>
                    <a href={`#/${n.path}`} aria-current={section === n.path ? 'page' : undefined}>
                      {n.label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
            <button type="button" class="secondary" onClick={s.signOut}>
              Sign out
            </button>
          </header>
          <main id="main" ref={mainRef} tabIndex={-1}>
            <View route={route} />
          </main>
          <Announcer />
        </>
  );
}

function View({ route }: { route: Route }) {
  const [section = 'generations', id] = route.path;
  switch (section) {
    case 'generations':
      return id ? <GenerationDetailView key={id} id={id} /> : <GenerationsView query={route.query} />;
    case 'new':
      return <NewGenerationView />;
    case 'batches':
      return <BatchesView />;
    case 'flows':
      return <FlowsView />;
    case 'images':
      return id ? <ImageDetailView key={id} id={id} /> : <ImagesView query={route.query} />;
    case 'live':
      return <LiveView />;
    case 'usage':
      return <UsageView />;
    case 'project':
      return <ProjectView />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            There is no page here. <a href="#/generations">Go to generations</a>.
          </p>
        </section>
      );
  }
}
