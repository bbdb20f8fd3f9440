// The browser suites drive Chromium as the browser benchmarks do (bench/harness/browser-host.ts).
export { CHROMIUM, CHROMIUM_ARGS, launchChromium, serveFiles } from '../../bench/harness/browser-host.js';
