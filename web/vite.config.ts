import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// One build serves both /console/ and /account/ (src/server/console-app.ts): its assets live under
// /console/assets/ with content hashes in their names, so they can be cached for a year.
export default defineConfig({
  root: import.meta.dirname,
  base: "/console/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    // The QR code and icons stay files: CSP allows data: images only for the TOTP QR code.
    assetsInlineLimit: 0,
    sourcemap: false,
    // One chunk: the generated descriptors of every Gatehouse service are most of it.
    chunkSizeWarningLimit: 800,
  },
});
