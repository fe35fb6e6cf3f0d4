// BerAKHLAK service worker, bundled with Workbox by esbuild (`make assets`) and served at /sw.js
// with `self.BK` (version, files to precache) written in front of it by app/offline.py.
//
// What it keeps, and for how long (docs/architecture.md, "Offline"):
// - static files under versioned URLs (`?v=hash`): cache first, they never change;
// - lesson pages and course outlines a learner opened: shown at once from the cache, refreshed
//   from the network behind (the page then asks the server for its status: app.js);
// - the offline page, precached, shown for any other page when the network is down.
// Nothing else is cached: quizzes, answers, "my learning", certificates, personal data and
// staff pages always go to the network. POSTs never pass through here.
import { clientsClaim } from "workbox-core";
import { ExpirationPlugin } from "workbox-expiration";
import { Router, NavigationRoute, Route } from "workbox-routing";
import { CacheFirst, NetworkOnly, StaleWhileRevalidate } from "workbox-strategies";

const config = self.BK || { version: "dev", precache: [], offline: "/offline" };
const PAGES = "bk-pages";
const STATIC = "bk-static";
const SHELL = "bk-shell-" + config.version;
const LESSON = /^\/courses\/[a-z0-9-]+(\/lessons\/[a-z0-9-]+)?$/;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL).then((cache) => cache.addAll(config.precache)).then(() => self.skipWaiting())
  );
});
self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((names) =>
      Promise.all(names.filter((n) => n.startsWith("bk-shell-") && n !== SHELL).map((n) => caches.delete(n)))
    )
  );
});
clientsClaim();

const pages = new StaleWhileRevalidate({
  cacheName: PAGES,
  matchOptions: { ignoreVary: true },
  plugins: [
    new ExpirationPlugin({ maxEntries: 80, maxAgeSeconds: 30 * 24 * 3600 }),
    // only a whole page, from this site, for a logged-in learner, is worth keeping
    { cacheWillUpdate: async ({ response }) => (response && response.status === 200 && !response.redirected ? response : null) },
  ],
});

const router = new Router();
router.registerRoute(
  new Route(
    ({ url, sameOrigin }) => sameOrigin && url.pathname.startsWith("/static/") && url.searchParams.has("v"),
    new CacheFirst({ cacheName: STATIC, plugins: [new ExpirationPlugin({ maxEntries: 40 })] })
  )
);
router.registerRoute(
  new NavigationRoute(pages, { allowlist: [LESSON] })
);
router.setDefaultHandler(new NetworkOnly());
router.setCatchHandler(async ({ request }) => {
  if (request.mode === "navigate") {
    const page = await caches.match(config.offline, { cacheName: SHELL, ignoreVary: true });
    if (page) { return page; }
  }
  return Response.error();
});
router.addFetchListener();

// A page asks to keep itself (the first lesson a learner opens arrives before this worker
// controls it), or to forget every kept page (another person on this device).
self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "keep" && typeof data.url === "string") {
    const url = new URL(data.url, self.location.origin);
    if (url.origin === self.location.origin && LESSON.test(url.pathname)) {
      event.waitUntil(
        caches.open(PAGES).then((cache) =>
          fetch(url.pathname, { credentials: "same-origin" }).then((response) =>
            response.ok && !response.redirected ? cache.put(url.pathname, response) : undefined
          )
        )
      );
    }
  } else if (data.type === "forget") {
    event.waitUntil(caches.delete(PAGES));
  }
});
