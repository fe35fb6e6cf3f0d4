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
import { CacheFirst, NetworkFirst, NetworkOnly, StaleWhileRevalidate } from "workbox-strategies";

const config = self.BK || { version: "dev", precache: [], offline: "/offline" };
const PAGES = "bk-pages";
const STATIC = "bk-static";
const SHELL = "bk-shell-" + config.version;
const LESSON = /^\/courses\/[a-z0-9-]+(\/lessons\/[a-z0-9-]+)?$/;
const OUTLINE = /^\/courses\/[a-z0-9-]+$/;

self.addEventListener("install", (event) => {
  // the offline page in this version's cache; the static files it needs where the static route
  // looks (their URLs are versioned: the browser's HTTP cache usually answers)
  const statics = config.precache.filter((url) => url !== config.offline);
  event.waitUntil(
    Promise.all([
      caches.open(SHELL).then((cache) => cache.add(config.offline)),
      caches.open(STATIC).then((cache) => cache.addAll(statics)),
    ]).then(() => self.skipWaiting())
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

const keepPlugins = [
  new ExpirationPlugin({ maxEntries: 80, maxAgeSeconds: 30 * 24 * 3600 }),
  // only a whole page, from this site, for a logged-in learner, is worth keeping
  { cacheWillUpdate: async ({ response }) => (response && response.status === 200 && !response.redirected ? response : null) },
  // the session ended (ran out, or ended from another device): the kept pages carry the
  // learner's status; forget them
  {
    fetchDidSucceed: async ({ response }) => {
      if (response.redirected && new URL(response.url).pathname === "/login") {
        await caches.delete(PAGES);
      }
      return response;
    },
  },
];
// a lesson's text: at once from the device, refreshed behind (its status is asked of the
// server by the page); a course outline shows progress: the network first, the device's copy
// when the network does not answer within a few seconds
const lessons = new StaleWhileRevalidate({ cacheName: PAGES, matchOptions: { ignoreVary: true }, plugins: keepPlugins });
const outlines = new NetworkFirst({
  cacheName: PAGES,
  networkTimeoutSeconds: 4,
  matchOptions: { ignoreVary: true },
  plugins: keepPlugins,
});

const router = new Router();
router.registerRoute(
  new Route(
    ({ url, sameOrigin }) => sameOrigin && url.pathname.startsWith("/static/") && url.searchParams.has("v"),
    new CacheFirst({ cacheName: STATIC, plugins: [new ExpirationPlugin({ maxEntries: 40 })] })
  )
);
router.registerRoute(new NavigationRoute(outlines, { allowlist: [OUTLINE] }));
router.registerRoute(new NavigationRoute(lessons, { allowlist: [LESSON] }));
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
