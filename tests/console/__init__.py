"""The console in a real browser: Debian's Chromium driven by Playwright, against a
real hub process serving the demo network."""
